"""Variants screen: pick a built-in variant or open a file; see its source and knobs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static

from cfexplore.fmt import fmt_value
from cfexplore.models import VARIANTS
from cfexplore.spec import WHERE_LABEL, InputSpec, Knob, VariantSpec

from ..source_view import ClassSource, class_source, module_path
from ..widgets.footer import CfxFooter
from ..widgets.mode_bar import ModeBar
from ..widgets.text_input import TextInput
from .base import CfxScreen

if TYPE_CHECKING:
    from cfexplore.engine.session import Session


class VariantsScreen(CfxScreen):
    """The first screen: choose what to explore."""

    HELP = (
        "Pick a built-in variant (Enter loads it in a worker process) or type in the Open "
        "box: an .onnx file (browse it, run it in ONNX Runtime), or your own model as "
        "path/file.py:Class or pkg.module:fn (transformers:BertModel) followed by any of "
        "the CLI's options: --init k=v,config={...} --input x=1x8:int64:0..100 "
        "--values n=1,3 --weights w.pt. The source view marks the control-flow lines; "
        "the knobs are the values a sweep will try."
    )
    BINDINGS = [
        Binding("l", "load", "Load", id="load"),
        Binding("o", "focus_open", "Open file", id="open"),
        Binding("escape", "focus_table", "Back to list", show=False),
        Binding("a", "toggle_all", "All/small", id="all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_heavy = False
        self._shown: str | None = None
        self._cfx_opening = False
        """The Open box started a load: focus leaves the box only once it has loaded."""

    def compose(self) -> ComposeResult:
        yield ModeBar("variants")
        with Horizontal(id="variants-body"):
            with Vertical(id="variants-left"):
                yield TextInput(
                    placeholder="file.py:Class · pkg.mod:fn [--init…] · .onnx",
                    id="open-input",
                )
                yield DataTable(id="variants-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="loaded-line")
            with Vertical(id="variants-right"):
                yield Static(id="variant-info")
                with VerticalScroll(id="source-scroll"):
                    yield Static(id="source-view")
        yield CfxFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("variant", "flow", "where")
        self._fill()
        table.focus()
        self.watch(self.app, "session", self._target_changed)

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for v in VARIANTS.values():
            if v.heavy and not self.show_heavy:
                continue
            table.add_row(Text(v.name), v.construct, WHERE_LABEL[v.where], key=v.name)
        if table.row_count:
            self._show_variant(next(iter(VARIANTS)))

    def action_toggle_all(self) -> None:
        """Show or hide the full-size seed-* variants."""
        self.show_heavy = not self.show_heavy
        self._fill()
        self.notify(
            "showing full-size seed-* variants" if self.show_heavy else "small variants only",
            timeout=2,
        )

    def action_focus_open(self) -> None:
        self.query_one("#open-input", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def action_load(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key:
            self.cfx.open_path(key)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.cfx.open_path(event.row_key.value)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self._show_variant(event.row_key.value)

    @on(Input.Submitted, "#open-input")
    def _open(self, event: Input.Submitted) -> None:
        # refused text (a bad option, no such file) keeps the focus here, to be fixed; so
        # does a load that fails later (the error shows, the text stays to be edited)
        self._cfx_opening = bool(event.value.strip()) and self.cfx.open_path(event.value)

    def _show_variant(self, name: str) -> None:
        if name == self._shown:
            return
        self._shown = name
        v = VARIANTS[name]
        mod, _, cls = v.factory.partition(":")
        path = module_path(mod)
        src = class_source(path, cls) if path else None
        self._show_source(v.name, v.description, v, src)

    def _show_source(
        self,
        title: str,
        description: str,
        v: VariantSpec | None,
        src: ClassSource | None,
        knobs: list[Knob] | None = None,
        inputs: list[InputSpec] | None = None,
    ) -> None:
        knobs = knobs if knobs is not None else list(v.knobs if v else [])
        inputs = inputs if inputs is not None else list(v.inputs if v else [])
        info = Text.assemble((title, "bold"), "  ", (description, "italic"), "\n")
        for k in knobs:
            vals = ", ".join(fmt_value(x) for x in k.values)
            info.append("knob ", "dim")
            info.append(k.name, "bold cyan")
            info.append(
                f"  {WHERE_LABEL.get(k.where, k.where)} · {k.construct} · "
                f"export value {fmt_value(k.default)} · sweep {{{vals}}}\n"
            )
        if inputs:
            info.append("inputs ", "dim")
            info.append(", ".join(i.describe() for i in inputs))
        self.query_one("#variant-info", Static).update(info)
        view = self.query_one("#source-view", Static)
        if src is None:
            view.update(Text("(source not available)", style="dim"))
            return
        syntax = Syntax(
            src.code,
            "python",
            line_numbers=True,
            start_line=src.start,
            highlight_lines=set(src.control_lines),
            theme="ansi_dark",
            word_wrap=False,
        )
        legend = Text.assemble(
            ("highlighted", "reverse"), " lines: control flow  ", (Path(src.path).name, "dim")
        )
        view.update(Group(legend, syntax))
        scroll = self.query_one("#source-scroll", VerticalScroll)
        first = min(src.control_lines, default=src.start)
        # bring the first control-flow line into view, with a few lines of context above
        self.call_after_refresh(
            scroll.scroll_to, y=max(0, first - src.start - 2) + 1, animate=False
        )

    def _target_changed(self, session: Session | None) -> None:
        if self._cfx_opening:
            self._cfx_opening = False
            if isinstance(self.focused, Input):
                self.query_one(DataTable).focus()
        line = self.query_one("#loaded-line", Static)
        if session is None:
            line.update(Text("nothing loaded — Enter loads the highlighted variant", "dim"))
            return
        info = session.info
        line.update(
            Text.assemble(("loaded ", "dim"), (info.label, "bold green"), ("  → 2 Export", "dim"))
        )
        if not session.spec.variant and info.source_file:
            self._shown = info.label
            src = class_source(info.source_file, info.class_name)
            self._show_source(info.label, info.description, None, src, info.knobs, info.inputs)
