"""The Diff screen's runs and their results: the thread workers (a diff, exporting first
when the exporter has not run; a run of an .onnx file opened alone; a sweep of every knob;
the Markdown report), the messages they post, and the handlers that put each result on
screen (table, chart, status line, verdict panel)."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Sparkline, Static
from textual.worker import Worker

from cfexplore.errors import Cancelled
from cfexplore.results import EXPORTERS, CheckReport, DiffResult, FileRunResult
from cfexplore.settings import RunSettings
from cfexplore.target.feeds import FeedPlan

from .. import jobs
from ..messages import Exported
from .base import CfxScreen
from .diff_results import (
    FILE_COLUMNS,
    diff_status,
    file_status,
    fill_diff_table,
    fill_file_table,
    reset_table,
)
from .diff_verdicts import frozen_knobs, verdict_grid

if TYPE_CHECKING:
    from cfexplore.engine.session import Session

STATUS_DELAY_S = 0.2
"""A run's "running…" status shows only if its result takes longer than this."""


class DiffDone(Message):
    """A diff finished (PyTorch vs ONNX Runtime on seeded inputs)."""

    def __init__(self, result: DiffResult, settings: RunSettings | None = None) -> None:
        super().__init__()
        self.result = result
        self.settings = settings
        """What it ran at (None: the result on show, redrawn)."""


class SweepDone(Message):
    """A sweep of every knob finished: a verdict per knob."""

    def __init__(self, report: CheckReport) -> None:
        super().__init__()
        self.report = report


class ReportWritten(Message):
    """The Markdown report is written at `path`."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


class FileRunDone(Message):
    """A run of a file opened alone finished (ONNX Runtime vs the reference evaluator)."""

    def __init__(self, result: FileRunResult, path: str, plan: FeedPlan, saved: str) -> None:
        super().__init__()
        self.result = result
        self.path = path
        self.plan = plan
        self.saved = saved
        """Why the plan could not be remembered, or empty."""


class DiffRunsScreen(CfxScreen):
    """The base of the Diff screen: its jobs run in threads on the screen (so
    `running_jobs` and the mode bar see them) and their results land in the widgets the
    Diff screen composes (#diff-table, #chart-line, #diff-status, #verdict-view). Also
    owns the worker process that runs .onnx files alone."""

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()
        """Set to cancel the running job (each run gets a fresh one)."""
        self._file_client: Any = None
        """The file worker (a WorkerClient), started by the first file run."""
        self._frozen: set[str] = set()
        """Knobs the last sweep found frozen (o opens the first one's condition)."""
        self._cfx_command = ""
        """The reproduce command of the last diff or sweep (y copies it)."""
        self._cfx_last_diff: DiffResult | None = None
        """The result in the table (redrawn to fit on a resize)."""
        self._cfx_hidden: list[str] = []
        """Diff columns left out because the terminal is too narrow for them."""
        self._cfx_file_result: FileRunResult | None = None
        """The last run of a file opened alone (its declared inputs feed the editor)."""
        self._cfx_status_timer: Timer | None = None
        """Shows a delayed "running…" status (stopped when another status comes first)."""
        self._cfx_locate_at: tuple[str, RunSettings] | None = None
        """(exporter, settings) of the last diff when it failed: l locates there."""

    def on_unmount(self) -> None:
        if self._file_client is not None:
            self._file_client.close()

    def worker_clients(self) -> list[tuple[str, Any]]:
        """The worker that runs .onnx files alone (for the app's worker log view)."""
        return [("ONNX file worker", self._file_client)] if self._file_client else []

    def cancel_job(self) -> bool:
        if not self.running_jobs():
            return False
        self._cancel.set()
        self._status(Text("cancelled", "yellow"))
        return True

    def worker_failed(self, worker: Worker[object]) -> None:
        if isinstance(worker.error, Cancelled):
            self._status(Text("cancelled", "yellow"))
        else:
            self._status(Text("run failed — see the notification", "red"))

    def _status(self, text: Text) -> None:
        if self._cfx_status_timer is not None:
            self._cfx_status_timer.stop()
            self._cfx_status_timer = None
        self.query_one("#diff-status", Static).update(text)

    def _status_later(self, text: Text) -> None:
        """Show `text` ("running…") only if nothing else is shown within 0.2 s: a quick
        diff (a next seed, ~0.1 s) goes straight to its result, one screen update less,
        and the status line does not flicker."""
        if self._cfx_status_timer is not None:
            self._cfx_status_timer.stop()
        self._cfx_status_timer = self.set_timer(STATUS_DELAY_S, partial(self._status, text))

    # -- workers ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _run(
        self,
        session: Session,
        exporter: str,
        settings: RunSettings,
        cancel: threading.Event,
    ) -> None:
        if exporter not in session.exports:
            exp = session.export(exporter, settings, progress=jobs.progress, cancel=cancel)
            self.post_message(Exported(exp, session.spec.label))
            if not exp.ok:
                return
        jobs.progress(None, f"diff {exporter}")
        result = session.diff(exporter, settings, cancel=cancel)
        if not cancel.is_set():
            self.post_message(DiffDone(result, settings))

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _run_file(
        self,
        path: str,
        plan: FeedPlan | None,
        settings: RunSettings,
        save: bool,
        timeout: float | None,
        cancel: threading.Event,
    ) -> None:
        from cfexplore.engine.filerun import run_file
        from cfexplore.target import inputstore
        from cfexplore.worker.client import WorkerClient
        from cfexplore.worker.limits import DEFAULT_ONNX_MEMORY_LIMIT

        if self._file_client is None:
            # an untrusted file: its worker runs under a memory limit ("model too large")
            self._file_client = WorkerClient(memory_limit=DEFAULT_ONNX_MEMORY_LIMIT)
        saved = ""
        if plan is None:  # first run of this file: what was set for it last time
            plan = inputstore.recall(path) or FeedPlan()
        elif save:
            try:
                inputstore.remember(path, plan)
            except OSError as exc:
                saved = f"inputs not remembered: {exc.strerror or exc}"
        result = run_file(path, plan, settings, self._file_client, cancel, timeout)
        if not cancel.is_set():
            self.post_message(FileRunDone(result, path, plan, saved))

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False)
    def _sweep(
        self,
        session: Session,
        exporter: str,
        settings: RunSettings,
        cancel: threading.Event,
    ) -> None:
        report = session.check([exporter], settings, progress=jobs.progress, cancel=cancel)
        self.post_message(SweepDone(report))

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def _report(
        self,
        session: Session,
        path: Path,
        settings: RunSettings,
        cancel: threading.Event,
    ) -> None:
        from cfexplore.fileio import atomic_write_bytes
        from cfexplore.render.reportdoc import build_report, report_markdown

        rep = build_report(
            session,
            EXPORTERS,
            settings,
            progress=jobs.progress,
            cancel=cancel,
        )
        atomic_write_bytes(path, report_markdown(rep).encode())
        self.post_message(ReportWritten(str(path)))

    # -- results ----------------------------------------------------------------------

    @on(Exported)
    def _exported(self, event: Exported) -> None:
        event.stop()
        r = event.result
        if not r.ok:
            self._status(Text.assemble(("export failed: ", "bold red"), r.error or ""))
            self.query_one(DataTable).clear()
        self.cfx.record_export(r, event.label)

    @on(DiffDone)
    def _done(self, event: DiffDone) -> None:
        r = event.result
        self._cfx_command = r.command
        self._cfx_last_diff = r
        self._show_diff_table(r)
        self.query_one("#chart-line").display = True
        hist = r.outputs[0].histogram if r.outputs else []
        self.query_one(Sparkline).data = [float(x) for x in hist]
        if event.settings is not None:
            ran = not (r.torch_error or r.onnx_error)
            failed = ran and not r.passed
            self._cfx_locate_at = (r.exporter, event.settings) if failed else None
            self.refresh_bindings()
        status = diff_status(r, self.cfx.exports.get(r.exporter), self._cfx_hidden)
        if self._cfx_locate_at is not None:
            status.append("\npress l to locate the first diverging node", "bold")
        self._status(status)

    def _show_diff_table(self, result: DiffResult) -> None:
        table = self.query_one(DataTable)
        if not table.size.width:  # not laid out yet: its width decides
            self.call_after_refresh(self._show_diff_table, result)
            return
        self._cfx_hidden = fill_diff_table(table, result)

    @on(FileRunDone)
    def _file_done(self, event: FileRunDone) -> None:
        onnx = self.cfx.onnx
        if onnx is None or onnx.path != event.path:
            return  # another file (or a model) took its place meanwhile
        r = event.result
        self.cfx.feed_plans.setdefault(event.path, event.plan)
        self._cfx_file_result = r
        self._cfx_last_diff = None
        self._cfx_command = r.command
        fill_file_table(reset_table(self.query_one(DataTable), FILE_COLUMNS), r)
        hist = r.outputs[0].histogram if r.outputs else []
        self.query_one(Sparkline).data = [float(x) for x in hist]
        self.query_one("#chart-line").display = bool(hist)
        self._status(file_status(r))
        if event.saved:
            self.notify(event.saved, severity="warning", timeout=6)

    @on(SweepDone)
    def _swept(self, event: SweepDone) -> None:
        grid = verdict_grid(event.report)
        self._frozen = frozen_knobs(event.report)
        traces = {r.exporter: r.branch_trace for r in event.report.results if r.branch_trace}
        if traces:
            self.cfx.record_traces(traces)
        self._cfx_command = event.report.command
        self.query_one("#verdict-view", Static).update(grid)

    @on(ReportWritten)
    def _report_written(self, event: ReportWritten) -> None:
        self.notify(f"report written: {event.path}", title="Report", timeout=8)
