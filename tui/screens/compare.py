"""Compare screen: two ONNX files aligned by their If/Loop skeleton, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Label, Static
from textual.worker import Worker

from cfexplore.errors import CfxError

from ..widgets.footer import CfxFooter
from ..widgets.text_input import TextInput
from ..worker_errors import ShowsWorkerErrors, titled


class Compared(Message):
    """The compare worker finished (a file it cannot open fails the worker instead)."""

    def __init__(self, report: Any) -> None:
        super().__init__()
        self.report = report


class CompareScreen(ShowsWorkerErrors, Screen[None]):
    """Pushed from the Graph screen: what one export keeps that the other folded or unrolled."""

    DEFAULT_CSS = """
    CompareScreen #compare-inputs {
        height: 3;
        padding: 0 1;
    }
    CompareScreen #compare-inputs Label {
        padding: 1 1 0 0;
    }
    CompareScreen #compare-inputs Input {
        width: 1fr;
    }
    CompareScreen #compare-title {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    CompareScreen #compare-scroll {
        height: 1fr;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+r", "run", "Compare", id="compare.run"),
    ]

    def __init__(self, a: str = "", b: str = "") -> None:
        super().__init__()
        self.a = a
        self.b = b

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("Compare two exports", "bold"),
                ("  by control-flow skeleton · Enter or ctrl+r runs · Esc back", "dim"),
            ),
            id="compare-title",
        )
        with Horizontal(id="compare-inputs"):
            yield Label("A")
            yield TextInput(self.a, placeholder="first .onnx", id="compare-a")
            yield Label("B")
            yield TextInput(self.b, placeholder="second .onnx", id="compare-b")
        with VerticalScroll(id="compare-scroll"):
            yield Static(Text("type two .onnx paths and press Enter", "dim"), id="compare-view")
        yield CfxFooter()

    def on_mount(self) -> None:
        if self.a and self.b:
            self.action_run()
        else:
            self.query_one("#compare-b" if self.a else "#compare-a", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        a = self.query_one("#compare-a", Input).value.strip()
        b = self.query_one("#compare-b", Input).value.strip()
        if not a or not b:
            self.notify("give both files", severity="warning")
            return
        self.query_one("#compare-view", Static).update(Text("comparing…", "dim"))
        titled(self._compare(a, b), "Cannot compare")

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _compare(self, a: str, b: str) -> None:
        from cfexplore.analysis.compare import compare_models
        from cfexplore.graph.tree import OnnxTree

        self.post_message(Compared(compare_models(OnnxTree.open(a), OnnxTree.open(b))))

    @on(Compared)
    def _done(self, event: Compared) -> None:
        from cfexplore.render.compare_text import render_compare

        self.query_one("#compare-view", Static).update(render_compare(event.report))

    def worker_failed(self, worker: Worker[Any]) -> None:
        """The notification says why; the view keeps the one line."""
        error = worker.error
        if isinstance(error, CfxError):
            line = str(error)
        else:
            from cfexplore.errortext import short_error

            line = short_error(error) if error is not None else "failed"
        self.query_one("#compare-view", Static).update(Text(line, "red"))


def default_pair(current: str | None, exports: dict[str, Any]) -> tuple[str, str]:
    """The model on show and another successful export of the same target; the one that
    keeps more If/Loop/Scan goes first (A), so B's rows read as "folded" / "unrolled"."""
    counts = {
        r.onnx_path: sum(r.control_flow.values()) for r in exports.values() if r.ok and r.onnx_path
    }
    if not current:
        return "", ""
    others = [p for p in counts if Path(p) != Path(current)]
    if not others:
        return current, ""
    other = others[0]
    if counts.get(other, 0) > counts.get(current, 0):
        return other, current
    return current, other
