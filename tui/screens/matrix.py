"""Matrix screen: the seed table over all built-in variants and exporters, computed live."""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Label, ProgressBar, Static
from textual.worker import Worker

from cfexplore.engine.session import COLUMNS, MatrixReport
from cfexplore.errors import CfxError
from cfexplore.outpath import check_target
from cfexplore.render.report import COLUMN_TITLE, VERDICT_STYLE
from cfexplore.results import EXPORTERS
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec

from .. import jobs
from ..messages import Progressed
from ..widgets.footer import CfxFooter
from ..widgets.mode_bar import ModeBar
from ..widgets.text_input import TextInput
from .base import CfxScreen


class MatrixDone(Message):
    """The table so far: after each variant (`final` False), then the whole run."""

    def __init__(self, report: MatrixReport, final: bool = True) -> None:
        super().__init__()
        self.report = report
        self.final = final


class MatrixScreen(CfxScreen):
    """Rows If/Loop x exporter, columns where the control value lives; each cell a verdict."""

    HELP = (
        "r computes the seed's table live: every If/Loop variant (class attribute plain and "
        "Final, instance attribute, forward() argument) exported with script, trace and dynamo "
        "and swept. Enter on a cell loads that variant with that exporter and opens its Diff "
        "screen (g opens the Graph instead). m writes the table as Markdown to the path in the "
        "box."
    )
    BINDINGS = [
        Binding("r", "run", "Run", id="run"),
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding(
            "d",
            "open('diff')",
            "In Diff",
            id="open-diff",
            tooltip="Open the cell's variant in Diff",
        ),
        Binding(
            "g",
            "open('graph')",
            "In Graph",
            id="open-graph",
            tooltip="Open the cell's variant in Graph",
        ),
        Binding("m", "markdown", "Markdown", id="markdown"),
        Binding("f", "toggle_full", "Full size", id="full", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: MatrixReport | None = None
        self._cancel: threading.Event | None = None
        self.full_size = False

    def compose(self) -> ComposeResult:
        yield ModeBar("matrix")
        yield Static(id="matrix-title")
        with Horizontal(id="matrix-run"):
            yield ProgressBar(id="matrix-progress", total=1.0, show_eta=False)
            yield Static(id="matrix-status")
        yield DataTable(id="matrix-table", cursor_type="cell")
        with VerticalScroll(id="matrix-why"):
            yield Static(id="matrix-cell")
        with Horizontal(id="md-line"):
            yield Label("markdown ")
            yield TextInput("cfexplore-matrix.md", id="md-path")
        yield CfxFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("", key="row", width=14)
        for col in COLUMNS:
            table.add_column(COLUMN_TITLE[col], key=col)
        self._fill()
        self._title()
        self.query_one("#matrix-progress", ProgressBar).display = False
        table.focus()
        table.move_cursor(row=0, column=1)

    def _title(self) -> None:
        size = "full-size" if self.full_size else "small"
        self.query_one("#matrix-title", Static).update(
            Text.assemble(
                ("Does the branch survive export?", "bold"),
                (f"  {size} seed model (f) · ᵖ plain / ᶠ Final class attr", "dim"),
            )
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self._cancel is not None
        if action == "run":
            return None if running else True
        if action == "cancel":  # also: Escape leaves a text box
            return True if running or isinstance(self.focused, Input) else None
        if action in ("open", "markdown"):
            return True if self.report is not None and not running else None
        return True

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        row, column = table.cursor_coordinate
        table.clear()
        for exporter in EXPORTERS:
            for construct in ("If", "Loop"):
                cells: list[Text] = []
                for col in COLUMNS:
                    if self.report is None or exporter not in self.report.cells:
                        cells.append(Text("·", "dim"))
                        continue
                    entries = self.report.cells[exporter][construct][col].entries
                    if not entries:  # not run yet
                        cells.append(Text("·", "dim"))
                        continue
                    text = Text()
                    for i, (variant, verdict, _) in enumerate(entries):
                        if i:
                            text.append(" / ")
                        text.append(verdict, VERDICT_STYLE.get(verdict, ""))
                        if len(entries) > 1:
                            text.append("ᶠ" if "final" in variant else "ᵖ", "dim")
                    cells.append(text)
                table.add_row(
                    Text(f"{construct} · {exporter}"), *cells, key=f"{exporter}/{construct}"
                )
        table.move_cursor(row=row, column=max(1, column))

    # -- run --------------------------------------------------------------------------

    def action_toggle_full(self) -> None:
        self.full_size = not self.full_size
        self._title()

    def action_run(self) -> None:
        self._cancel = threading.Event()
        bar = self.query_one("#matrix-progress", ProgressBar)
        bar.update(total=1.0, progress=0)
        bar.display = True
        self.refresh_bindings()
        app = self.cfx
        self._run(self.full_size, app.run_settings(), self._cancel)

    @work(thread=True, exclusive=True, group="matrix", exit_on_error=False)
    def _run(
        self,
        full_size: bool,
        settings: RunSettings,
        cancel: threading.Event,
    ) -> None:
        from cfexplore.engine.session import matrix

        def progress(frac: float | None, text: str) -> None:
            jobs.progress(frac, text)
            self.post_message(Progressed("matrix", frac, text))

        def on_variant(partial: MatrixReport) -> None:
            self.post_message(MatrixDone(partial, final=False))

        report = matrix(
            EXPORTERS,
            full_size,
            settings,
            progress=progress,
            cancel=cancel,
            on_variant=on_variant,
        )
        self.post_message(MatrixDone(report))

    @on(Progressed)
    def _progress(self, event: Progressed) -> None:
        if event.source != "matrix":
            return
        if event.fraction is not None:
            self.query_one("#matrix-progress", ProgressBar).update(progress=event.fraction)
        self.query_one("#matrix-status", Static).update(Text(event.text[:70], "dim"))

    def action_cancel(self) -> None:
        """Escape: leave a text box (letters and 1-5 are keys again), else cancel the job."""
        if isinstance(self.focused, Input):
            self.set_focus(None)
            return
        self.cancel_job()

    def cancel_job(self) -> bool:
        if self._cancel is None:
            return False
        self._cancel.set()
        return True

    def _stop(self) -> None:
        self._cancel = None
        self.query_one("#matrix-progress", ProgressBar).display = False
        self.refresh_bindings()

    def worker_failed(self, worker: Worker[Any]) -> None:
        self._stop()
        self.query_one("#matrix-status", Static).update(Text("matrix stopped", "yellow"))

    @on(MatrixDone)
    def _done(self, event: MatrixDone) -> None:
        if not event.final:
            if self._cancel is not None:  # a late partial of a cancelled run: not shown
                self.report = event.report
                self._fill()
                self._show_cell()
            return
        self._stop()
        self.report = event.report
        self._fill()
        bad = sum(
            1
            for r in event.report.reports
            for res in r.results
            for k in res.knobs
            if k.verdict in ("frozen", "mismatch", "failed")
        )
        self.query_one("#matrix-status", Static).update(
            Text(
                f"done: {len(event.report.reports)} variants x {len(event.report.exporters)} "
                f"exporters; {bad} frozen/mismatch/failed",
                "green",
            )
        )
        self._show_cell()
        self.refresh_bindings()

    # -- cells ------------------------------------------------------------------------

    def _cell(self) -> tuple[str, str, str] | None:
        """(exporter, construct, column) under the cursor, or None for the label column."""
        table = self.query_one(DataTable)
        coord = table.cursor_coordinate
        if coord.column == 0 or table.row_count == 0:
            return None
        row_key, col_key = table.coordinate_to_cell_key(coord)
        exporter, construct = str(row_key.value).split("/")
        return exporter, construct, str(col_key.value)

    @on(DataTable.CellHighlighted)
    def _show_cell(self) -> None:
        view = self.query_one("#matrix-cell", Static)
        cell = self._cell()
        if cell is None or self.report is None:
            view.update(
                Text("r runs the matrix; move to a cell to see why", "dim")
                if self.report is None
                else Text("choose a verdict cell", "dim")
            )
            return
        exporter, construct, col = cell
        out = Text()
        for variant, verdict, why in self.report.cells[exporter][construct][col].entries:
            out.append(variant, "bold")
            out.append(" ")
            out.append(verdict, VERDICT_STYLE.get(verdict, ""))
            out.append(f"\n{why}\n")
        view.update(out)

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_open("diff")

    def action_open(self, mode: str) -> None:
        cell = self._cell()
        if cell is None or self.report is None:
            return
        exporter, construct, col = cell
        entries = self.report.cells[exporter][construct][col].entries
        if not entries:
            return
        variant = entries[-1][0]  # the Final one when the cell holds plain and Final
        self.cfx.exporter = exporter
        self.cfx.open_variant(TargetSpec(variant=variant), exporter, mode)

    def action_markdown(self) -> None:
        if self.report is None:
            return
        from cfexplore.fileio import atomic_write_bytes
        from cfexplore.render.report import matrix_markdown

        text = self.query_one("#md-path", Input).value.strip() or "cfexplore-matrix.md"
        try:
            path = check_target(text)
            atomic_write_bytes(path, matrix_markdown(self.report).encode())
        except CfxError as exc:
            self.notify(f"cannot write the Markdown: {exc}", severity="error")
            return
        self.notify(f"wrote {path}", timeout=4)
