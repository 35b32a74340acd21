"""The inputs editor: every input with its declared type, a box for its value or shape,
and one box per symbolic dim. Enter applies (after a check), Esc cancels.

For an .onnx file opened alone the boxes take what `cfexplore diff FILE --input/--dim`
takes (`sr=16000`, `input=1x512`, `N=512`); for a Python model, shapes as `--input` takes
them (`1x3x32x32`, `1x8:int64:0..100`). The caller checks a plan before it is accepted, so
a wrong rank or a bad dtype is said here, in the dialog, and nothing runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cfexplore.target.feeds import FeedPlan

from ..widgets.text_input import TextInput


@dataclass(frozen=True)
class InputRow:
    """One editable input: its name, its declared type in words, and the current text."""

    name: str
    declared: str
    text: str = ""
    placeholder: str = "seeded"


class InputsScreen(ModalScreen[FeedPlan | None]):
    """Dismisses with the accepted FeedPlan, or None when cancelled."""

    DEFAULT_CSS = """
    InputsScreen {
        align: center middle;
    }
    InputsScreen > VerticalScroll {
        width: 90;
        max-width: 98%;
        height: auto;
        max-height: 95%;
        border: thick $accent;
        background: $panel;
        padding: 0 1;
    }
    InputsScreen .input-row {
        height: 1;
    }
    InputsScreen .input-name {
        text-style: bold;
        padding-right: 1;
    }
    InputsScreen .input-type {
        color: $text-muted;
        padding-right: 1;
    }
    InputsScreen .input-row TextInput {
        width: 1fr;
        border: none;
        height: 1;
        padding: 0 1;
    }
    InputsScreen #inputs-error {
        color: $error;
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "app.focus_next", "Next box", show=False),
        Binding("up", "app.focus_previous", "Previous box", show=False),
    ]

    def __init__(
        self,
        title: str,
        rows: list[InputRow],
        dims: dict[str, int | None],
        check: Callable[[FeedPlan], str | None],
        hint: str,
    ) -> None:
        super().__init__()
        self._cfx_title = title
        self._cfx_rows = rows
        self._cfx_dims = dims
        self._cfx_check = check
        self._cfx_hint = hint

    def _label(self, text: str, kind: str, width: int) -> Label:
        """A column cell: as wide as the column's longest entry (capped), the same on every
        row so the boxes line up."""
        label = Label(Text(text, overflow="ellipsis", no_wrap=True), classes=kind)
        label.styles.width = width
        return label

    def compose(self) -> ComposeResult:
        names = [r.name for r in self._cfx_rows] + list(self._cfx_dims)
        name_w = min(max(map(len, names), default=4), 20) + 1
        type_w = min(max((len(r.declared) for r in self._cfx_rows), default=3), 24) + 1
        with VerticalScroll():
            yield Static(Text(self._cfx_title, "bold"), id="inputs-title")
            for i, row in enumerate(self._cfx_rows):
                with Horizontal(classes="input-row"):
                    yield self._label(row.name, "input-name", name_w)
                    yield self._label(row.declared, "input-type", type_w)
                    yield TextInput(row.text, placeholder=row.placeholder, id=f"input-{i}")
            if self._cfx_dims:
                yield Static(Text("symbolic dims (unset: 1)", "dim"))
                for i, (sym, size) in enumerate(self._cfx_dims.items()):
                    with Horizontal(classes="input-row"):
                        yield self._label(sym, "input-name", name_w)
                        yield self._label("dim", "input-type", type_w)
                        yield TextInput(
                            "" if size is None else str(size),
                            placeholder="1",
                            type="integer",
                            id=f"dim-{i}",
                        )
            yield Static(id="inputs-error")
            yield Static(Text(self._cfx_hint, "dim"))
            yield Static(
                Text.assemble(
                    ("Enter", "bold"),
                    " apply and re-run   ",
                    ("Esc", "bold"),
                    " cancel   ",
                    ("↑↓/Tab", "bold"),
                    " move",
                    style="dim",
                )  # fmt: skip
            )

    def on_mount(self) -> None:
        boxes = self.query(TextInput)
        if boxes:
            boxes.first().focus()

    def plan(self) -> FeedPlan:
        """What the boxes say now (empty boxes are left out: seeded / fed as 1)."""
        plan = FeedPlan()
        for i, row in enumerate(self._cfx_rows):
            text = self.query_one(f"#input-{i}", Input).value.strip()
            if text:
                plan.inputs[row.name] = text
        for i, sym in enumerate(self._cfx_dims):
            text = self.query_one(f"#dim-{i}", Input).value.strip()
            if text:
                plan.dims[sym] = int(text) if text.isdigit() and int(text) > 0 else -1
        return plan

    @on(Input.Submitted)
    def _apply(self, event: Input.Submitted) -> None:
        event.stop()
        plan = self.plan()
        bad = [sym for sym, n in plan.dims.items() if n <= 0]
        error = f"dim {bad[0]}: a positive integer, please" if bad else self._cfx_check(plan)
        if error:
            self.query_one("#inputs-error", Static).update(Text(error))
            return
        self.dismiss(plan)

    def action_cancel(self) -> None:
        self.dismiss(None)
