"""Diff screen: live seeded PyTorch vs ONNX Runtime diff, knobs, tolerances, sweep verdicts."""

from __future__ import annotations

import math
import threading
from functools import partial
from pathlib import Path
from typing import Any

from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Select, Sparkline, Static, Switch
from textual.worker import Worker

from cfexplore.errors import Cancelled, CfxError
from cfexplore.fmt import fmt_num, fmt_value
from cfexplore.outpath import check_target
from cfexplore.render.report import (
    DIFF_COLUMNS,
    PROBLEM_TEXT,
    diff_rows,
    trace_lines,
)
from cfexplore.results import EXPORTERS, CheckReport, DiffResult, FileRunResult
from cfexplore.target.feeds import FeedPlan

from .. import jobs
from ..messages import Exported, OnnxRef
from ..state import AppState
from ..widgets.footer import CfxFooter
from ..widgets.mode_bar import ModeBar
from ..widgets.text_input import TextInput
from .base import CfxScreen
from .diff_inputs import FILE_COLUMNS, file_dialog, file_status, fill_file_table, model_dialog

DROP_ORDER = ("type", "ORT↔ref", "ref Δ", "rel Δ")
"""Diff columns a narrow terminal leaves out first (output, result, ORT Δ, outside stay)."""

DEBOUNCE = 0.3
"""Seconds of quiet after an edit before the diff re-runs."""

STATUS_DELAY_S = 0.2
"""A run's "running…" status shows only if its result takes longer than this."""


class DiffDone(Message):
    def __init__(self, result: DiffResult) -> None:
        super().__init__()
        self.result = result


class SweepDone(Message):
    def __init__(self, report: CheckReport) -> None:
        super().__init__()
        self.report = report


class ReportWritten(Message):
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


class DiffScreen(CfxScreen):
    """Change the seed, a knob or a tolerance and the diff re-runs; s sweeps every knob."""

    HELP = (
        "Every edit (seed, rtol, atol, a knob) re-runs PyTorch and ONNX Runtime on seeded "
        "inputs in the worker process and updates the table: shapes, max abs/rel diff, "
        "elements outside atol + rtol*|torch|, pass/fail, and a chart of |diff| per decade. "
        "Attribute knobs change the PyTorch module only — the ONNX model stays as exported, "
        "which is how a frozen branch shows. s sweeps every knob value and gives a verdict "
        "per knob. ] and [ step the seed and re-run at once (typing waits for a pause; Enter "
        "in a box runs at once). For an .onnx file opened alone, ONNX Runtime runs against "
        "onnx's reference evaluator on the same inputs; e edits those inputs (values such "
        "as sr=16000, shapes, symbolic dims), remembered per file. For a Python model, e "
        "edits its input shapes and reloads it."
    )
    BINDINGS = [
        Binding("s", "sweep", "Sweep", id="sweep"),
        Binding("r", "rerun", "Re-run", id="rerun"),
        Binding("t", "next_exporter", "Exporter", id="exporter"),
        Binding("k", "focus_knobs", "Knobs", id="knobs"),
        Binding("o", "open_source", "Source", id="source"),
        Binding("w", "write_report", "Report", id="report"),
        Binding("e", "edit_inputs", "Inputs", id="inputs"),
        Binding(
            "y",
            "copy_command",
            "Copy command",
            id="copy",
            show=False,
            tooltip="Copy the reproduce command of the last diff or sweep (OSC 52)",
        ),
        Binding("i", "focus_seed", "Seed/tol", id="seed", show=False),
        Binding("right_square_bracket", "step_seed(1)", "Next seed", id="seed-next", show=False),
        Binding("left_square_bracket", "step_seed(-1)", "Prev seed", id="seed-prev", show=False),
        Binding("escape", "leave_or_cancel", "Cancel / leave box", id="cancel", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._timer: Timer | None = None
        self._cancel = threading.Event()
        self._file_client: Any = None
        self._knob_key = ""
        self._knobs_built = ""
        """The key of the knob widgets on screen (differs from _knob_key while rebuilding)."""
        self._frozen: set[str] = set()
        """Knobs the last sweep found frozen (o opens the first one's condition)."""
        self._cfx_last_run: tuple[str, ...] | None = None
        """What the last diff ran with: an edit that changes nothing (a knob widget's first
        Changed on mount) does not start the same diff again."""
        self._cfx_command = ""
        """The reproduce command of the last diff or sweep (y copies it)."""
        self._cfx_last_diff: DiffResult | None = None
        """The result in the table (redrawn to fit on a resize)."""
        self._cfx_hidden: list[str] = []
        """Diff columns left out because the terminal is too narrow for them."""
        self._cfx_file_result: FileRunResult | None = None
        """The last run of a file opened alone (its declared inputs feed the editor)."""
        self._cfx_save_plan = False
        self._cfx_status_timer: Timer | None = None
        """Remember the file's input plan on the next run (it was just edited)."""

    def compose(self) -> ComposeResult:
        yield ModeBar("diff")
        with Horizontal(id="diff-controls"):
            yield Label("seed")
            yield TextInput(str(self.state.seed), id="seed", type="integer")
            yield Label("rtol")
            yield TextInput(f"{self.state.rtol:g}", id="rtol", type="number")
            yield Label("atol")
            yield TextInput(f"{self.state.atol:g}", id="atol", type="number")
            yield Static(id="exporter-label")
        yield Horizontal(id="knobs")
        yield DataTable(id="diff-table", cursor_type="row")
        with Horizontal(id="chart-line"):
            yield Static(Text("|diff|", "dim"), id="chart-label")
            with Vertical(id="chart-box"):
                yield Sparkline([], id="diff-chart")
                yield Static(Text("1e-9" + " " * 8 + "…" + " " * 8 + "≥1", "dim"), id="chart-axis")
        yield Static(id="diff-status", classes="status-line")
        with VerticalScroll(id="verdicts"):
            yield Static(id="verdict-view")
        yield CfxFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._columns(DIFF_COLUMNS)
        self.cfx.target_changed.subscribe(self, self._on_target)
        self.cfx.onnx_changed.subscribe(self, self._on_onnx)
        self._on_target(self.state)
        table.focus()

    def _fitting(self, rows: list[list[Any]]) -> tuple[list[int], list[int]]:
        """(indexes of the diff columns to show, each column's width with its padding):
        all columns when they fit the table's width, else without the least needed (type,
        ORT↔ref, ref Δ, rel Δ), so no cell is ever cut."""
        width = self.query_one(DataTable).size.width
        need = [
            max([len(name), *(Text(str(r[i])).cell_len for r in rows)]) + 2
            for i, name in enumerate(DIFF_COLUMNS)
        ]
        keep = list(range(len(DIFF_COLUMNS)))
        for name in DROP_ORDER:
            if sum(need[i] for i in keep) <= width:
                break
            keep.remove(DIFF_COLUMNS.index(name))
        return keep, need

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        if self._cfx_last_diff is not None:
            self._done(DiffDone(self._cfx_last_diff))  # table and status, refitted

    def _show_diff_table(self, result: DiffResult) -> None:
        if not self.query_one(DataTable).size.width:  # not laid out yet: its width decides
            self.call_after_refresh(self._show_diff_table, result)
            return
        rows = [list(row) for row in diff_rows(result)]
        keep, need = self._fitting(rows)
        table = self.query_one(DataTable)
        columns = [(str(c.label), c.width) for c in table.columns.values()]
        wanted = [(DIFF_COLUMNS[i], need[i] - 2) for i in keep]
        if columns == wanted:  # the same columns (a next seed): new rows only, no relayout
            table.clear()
        else:
            table.clear(columns=True)
            for name, width in wanted:  # fixed widths fitted to these values
                table.add_column(name, width=width)
        for row in rows:
            table.add_row(*(row[i] for i in keep))
        self._cfx_hidden = [DIFF_COLUMNS[i] for i in range(len(DIFF_COLUMNS)) if i not in keep]

    def _columns(self, columns: tuple[str, ...]) -> DataTable[Any]:
        """The table, cleared, with `columns` (diff and file runs show different ones)."""
        table = self.query_one(DataTable)
        if tuple(str(c.label) for c in table.columns.values()) != columns:
            table.clear(columns=True)
            table.add_columns(*columns)
        else:
            table.clear()
        return table

    def on_unmount(self) -> None:
        if self._file_client is not None:
            self._file_client.close()

    def worker_clients(self) -> list[tuple[str, Any]]:
        """The worker that runs .onnx files alone (for the app's worker log view)."""
        return [("ONNX file worker", self._file_client)] if self._file_client else []

    # -- mode -------------------------------------------------------------------------

    @property
    def file_mode(self) -> bool:
        """An .onnx file opened on its own: ONNX Runtime only, no PyTorch side."""
        onnx = self.state.onnx
        return onnx is not None and onnx.exporter is None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A file opened alone has no PyTorch side: no sweep, exporter, knobs, source or
        report keys; a built-in variant has no inputs to edit."""
        if action in ("sweep", "next_exporter", "focus_knobs", "open_source", "write_report"):
            return not self.file_mode
        if action == "edit_inputs":
            spec = self.state.spec
            return self.file_mode or (spec is not None and not spec.variant)
        return True

    def _on_target(self, state: AppState) -> None:
        self.refresh_bindings()
        self._cfx_command = ""
        self._cfx_last_diff = None
        self._cfx_file_result = None
        if self.is_mounted:  # the previous target's results go at once, not at the next run
            self.query_one("#diff-table", DataTable).clear()
            self._status(Text(f"{state.label}: starting…", "dim"))
        self._build_knobs()
        self.query_one("#verdict-view", Static).update("")
        self._update_exporter_label()
        self._schedule()

    def _on_onnx(self, ref: OnnxRef) -> None:
        self.refresh_bindings()
        if ref.exporter is None:
            self._build_knobs()
            self._update_exporter_label()
            self._schedule()

    def _update_exporter_label(self) -> None:
        label = self.query_one("#exporter-label", Static)
        if self.file_mode and self.state.onnx:
            # the mode bar names the file; this says what runs
            label.update(Text.assemble(("ORT", "bold"), (" vs ", "dim"), ("reference", "bold")))
        elif self.state.session is not None:
            label.update(
                Text.assemble(("exporter ", "dim"), (self.state.exporter, "bold"), (" (t)", "dim"))
            )
        else:
            label.update(Text("load a variant in 1 Variants", "dim"))

    def _build_knobs(self) -> None:
        """Rebuild the knob widgets for the loaded target (old ones removed first)."""
        self.run_worker(self._rebuild_knobs(), group="knobs", exclusive=True)

    async def _rebuild_knobs(self) -> None:
        box = self.query_one("#knobs", Horizontal)
        info = self.state.info
        knobs = [] if self.file_mode or info is None else info.knobs
        key = ",".join(k.name for k in knobs) + (info.label if info else "")
        if key == self._knob_key:
            return
        self._knob_key = key
        await box.remove_children()  # ids are reused (knob-0, ...): old ones must be gone
        widgets: list[Widget] = []
        for i, k in enumerate(knobs):
            # ids by position: knob names hold dots and `@` (block.use_skip, data@m.py:3)
            widgets.append(Label(k.name, classes="knob-label"))
            if isinstance(k.default, bool) and set(k.values) <= {False, True}:
                widgets.append(Switch(value=k.default, id=f"knob-{i}", classes="knob"))
            elif isinstance(k.default, int) and not isinstance(k.default, bool):
                widgets.append(
                    TextInput(
                        str(k.default), id=f"knob-{i}", type="integer", classes="knob knob-int"
                    )
                )
            else:  # Optional[bool] (None/False/True), a tensor-data drive: pick a value
                options = [(fmt_value(v), str(j)) for j, v in enumerate(k.values)]
                start = str(k.values.index(k.default)) if k.default in k.values else "0"
                widgets.append(
                    Select(
                        options,
                        value=start,
                        allow_blank=False,
                        id=f"knob-{i}",
                        classes="knob knob-select",
                    )
                )
        if not widgets:
            widgets.append(Label("no knobs", classes="knob-label"))
        await box.mount_all(widgets)
        self._knobs_built = key

    def knob_values(self) -> dict[str, Any]:
        info = self.state.info
        out: dict[str, Any] = {}
        if info is None or self.file_mode or self._knobs_built != self._knob_key:
            return out  # widgets of the previous target: the export values apply
        for i, k in enumerate(info.knobs):
            widgets = self.query(f"#knob-{i}")
            if not widgets:
                continue
            w = widgets.first()
            if isinstance(w, Switch):
                out[k.name] = w.value
            elif isinstance(w, Select):
                index = int(w.value) if isinstance(w.value, str) and w.value.isdigit() else 0
                out[k.name] = k.values[index] if index < len(k.values) else k.default
            elif isinstance(w, Input):
                try:
                    out[k.name] = int(w.value)
                except ValueError:
                    out[k.name] = k.default
        return out

    # -- running ----------------------------------------------------------------------

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    def _edited(self) -> None:
        if self._run_key() != self._cfx_last_run:
            self._schedule()

    def _run_key(self) -> tuple[str, ...]:
        """Everything a diff depends on, as text (knobs not yet on screen at their
        export values)."""
        info = self.state.info
        values = self.knob_values()
        knobs = (
            [] if info is None else [(k.name, values.get(k.name, k.default)) for k in info.knobs]
        )
        boxes = [self.query_one(f"#{i}", Input).value for i in ("seed", "rtol", "atol")]
        label = info.label if info is not None else ""
        onnx = self.state.onnx.path if self.file_mode and self.state.onnx else ""
        return (label, str(onnx), self.state.exporter, *boxes, repr(knobs))

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self.action_rerun)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter: no need to wait for the typing pause."""
        event.stop()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.action_rerun()

    def action_step_seed(self, step: int) -> None:
        """] / [: the next or previous seed, run at once (no debounce)."""
        box = self.query_one("#seed", Input)
        try:
            seed = max(0, int(box.value) + step)
        except ValueError:
            seed = self.state.seed
        with box.prevent(Input.Changed):
            box.value = str(seed)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.action_rerun()

    def _read_numbers(self) -> tuple[int, float, float] | None:
        try:
            seed = int(self.query_one("#seed", Input).value)
            rtol = float(self.query_one("#rtol", Input).value)
            atol = float(self.query_one("#atol", Input).value)
        except ValueError:
            self._status(Text("seed must be an integer, rtol/atol numbers", "yellow"))
            return None
        if not (math.isfinite(rtol) and math.isfinite(atol)) or min(rtol, atol, seed) < 0:
            self._status(Text("seed, rtol and atol must be finite and >= 0", "yellow"))
            return None
        self.state.seed, self.state.rtol, self.state.atol = seed, rtol, atol
        return seed, rtol, atol

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

    def action_rerun(self) -> None:
        numbers = self._read_numbers()
        if numbers is None:
            return
        seed, rtol, atol = numbers
        self._cfx_last_run = self._run_key()
        self._cancel.set()
        self._cancel = threading.Event()
        if self.file_mode and self.state.onnx is not None:
            self._status_later(Text("running ONNX Runtime…", "dim"))
            save, self._cfx_save_plan = self._cfx_save_plan, False
            path = self.state.onnx.path
            plan = self.state.feed_plans.get(path)
            worker = self._run_file(path, plan, seed, rtol, atol, save, self._cancel)
            jobs.name(worker, f"running {self.state.onnx.label}")
            return
        session = self.state.session
        if session is None:
            self._status(Text("nothing loaded: pick a variant in 1 Variants", "dim"))
            return
        self._status_later(Text(f"running {self.state.exporter}…", "dim"))
        worker = self._run(
            session,
            self.state.exporter,
            self.state.opset,
            seed,
            self.knob_values(),
            rtol,
            atol,
            self._cancel,
        )
        jobs.name(worker, f"diff {self.state.exporter}")

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _run(
        self,
        session: Any,
        exporter: str,
        opset: int,
        seed: int,
        values: dict[str, Any],
        rtol: float,
        atol: float,
        cancel: threading.Event,
    ) -> None:
        if exporter not in session.exports:
            exp = session.export(exporter, opset, progress=jobs.progress, cancel=cancel)
            self.post_message(Exported(exp, session.spec.label))
            if not exp.ok:
                return
        jobs.progress(None, f"diff {exporter}")
        result = session.diff(exporter, seed, values, rtol, atol, cancel=cancel)
        if not cancel.is_set():
            self.post_message(DiffDone(result))

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _run_file(
        self,
        path: str,
        plan: FeedPlan | None,
        seed: int,
        rtol: float,
        atol: float,
        save: bool,
        cancel: threading.Event,
    ) -> None:
        from cfexplore.engine.filerun import run_file
        from cfexplore.settings import RunSettings
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
        settings = RunSettings(seed=seed, rtol=rtol, atol=atol)
        result = run_file(path, plan, settings, self._file_client, cancel, self.state.timeout)
        if not cancel.is_set():
            self.post_message(FileRunDone(result, path, plan, saved))

    def worker_failed(self, worker: Worker[object]) -> None:
        if isinstance(worker.error, Cancelled):
            self._status(Text("cancelled", "yellow"))
        else:
            self._status(Text("run failed — see the notification", "red"))

    def action_focus_knobs(self) -> None:
        """Focus the first knob (then tab through the rest; space flips a switch)."""
        knobs = self.query(".knob")
        if knobs:
            knobs.first().focus()
        else:
            self.notify("this target has no knobs", timeout=2)

    def action_open_source(self) -> None:
        """Open the condition line of the first frozen knob (else the first knob's line)."""
        from .source import SourceScreen

        info = self.state.info
        if info is None or not info.source_file:
            self.notify("no Python source for this target", timeout=2)
            return
        knobs = [k for k in info.knobs if k.line]
        frozen = [k for k in knobs if k.name in self._frozen]
        chosen = (frozen or knobs or [None])[0]
        line = chosen.line if chosen is not None else (info.control_lines or [1])[0]
        why = f"{chosen.name}: frozen" if chosen in frozen else (chosen.name if chosen else "")
        self.app.push_screen(SourceScreen(info.source_file, line or 1, why))

    def action_write_report(self) -> None:
        """Write the Markdown report (all exporters) for the loaded target, in a worker."""
        session = self.state.session
        if session is None or self.file_mode:
            self.notify("a report needs a loaded variant or user model", severity="warning")
            return
        numbers = self._read_numbers()
        if numbers is None:
            return
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in session.spec.label)
        try:  # the current folder may be read-only: say so before minutes of work
            path = check_target(Path.cwd() / f"cfexplore-report-{safe[-60:]}.md")
        except CfxError as exc:
            self.notify(f"cannot write the report: {exc}", severity="error")
            return
        self.notify(f"writing the report to {path.name}…", timeout=3)
        jobs.name(self._report(session, path, *numbers, self._cancel), "report")

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def _report(
        self, session: Any, path: Path, seed: int, rtol: float, atol: float, cancel: threading.Event
    ) -> None:
        from cfexplore.fileio import atomic_write_bytes
        from cfexplore.render.reportdoc import build_report, report_markdown

        rep = build_report(
            session,
            EXPORTERS,
            self.state.opset,
            seed,
            rtol,
            atol,
            progress=jobs.progress,
            cancel=cancel,
        )
        atomic_write_bytes(path, report_markdown(rep).encode())
        self.post_message(ReportWritten(str(path)))

    @on(ReportWritten)
    def _report_written(self, event: ReportWritten) -> None:
        self.notify(f"report written: {event.path}", title="Report", timeout=8)

    def action_focus_seed(self) -> None:
        self.query_one("#seed", Input).focus()

    def action_leave_or_cancel(self) -> None:
        """Escape: leave an edit box (so letter keys work again), else cancel the run."""
        if isinstance(self.focused, Input | Switch):
            self.query_one(DataTable).focus()
        else:
            self.cancel_job()

    def cancel_job(self) -> bool:
        if not self.running_jobs():
            return False
        self._cancel.set()
        self._status(Text("cancelled", "yellow"))
        return True

    def action_next_exporter(self) -> None:
        i = EXPORTERS.index(self.state.exporter)
        self.state.exporter = EXPORTERS[(i + 1) % len(EXPORTERS)]
        self._update_exporter_label()
        self._schedule()

    @on(Exported)
    def _exported(self, event: Exported) -> None:
        event.stop()
        r = event.result
        if not r.ok:
            self._status(Text.assemble(("export failed: ", "bold red"), r.error or ""))
            self.query_one(DataTable).clear()
        self.cfx.record_export(r, event.label)

    def action_copy_command(self) -> None:
        """y: the one-line command that reproduces the last result, to the clipboard."""
        if not self._cfx_command:
            self.notify("no result to copy yet", timeout=2)
            return
        self.cfx.copy_text(self._cfx_command, "the reproduce command")

    @on(DiffDone)
    def _done(self, event: DiffDone) -> None:
        r = event.result
        self._cfx_command = r.command
        self._cfx_last_diff = r
        self._show_diff_table(r)
        self.query_one("#chart-line").display = True
        hist = r.outputs[0].histogram if r.outputs else []
        self.query_one(Sparkline).data = [float(x) for x in hist]
        if r.torch_error or r.onnx_error:
            status = Text.assemble(("error ", "bold red"), r.torch_error or r.onnx_error or "")
        else:
            fed = ", ".join(r.onnx_fed) or "no knob"
            vals = ", ".join(f"{k}={fmt_value(v)}" for k, v in r.knob_values.items())
            torch_ms = "cached" if r.torch_ms == 0 else f"{r.torch_ms:.1f} ms"
            status = Text.assemble(
                ("PASS " if r.passed else "FAIL ", "bold green" if r.passed else "bold red"),
                f"{r.exporter} seed {r.seed}",
                (f" · {vals}" if vals else ""),
                (f" · ONNX takes {fed}", "dim"),
                (f" · torch {torch_ms}, ORT {r.onnx_ms:.1f} ms", "dim"),
            )
            if r.reference_used:
                status.append(f", reference {r.reference_ms:.1f} ms", "dim")
            if r.problem:
                status.append(f"  {PROBLEM_TEXT[r.problem]}", "bold yellow")
            exported = self.state.exports.get(r.exporter)
            moved = [
                k
                for k, v in r.knob_values.items()
                if exported is not None and exported.knob_values.get(k) != v and k not in r.onnx_fed
            ]
            if moved and not r.passed and exported is not None:
                status.append(
                    f"  ← {', '.join(moved)} is not an ONNX input: the export froze it "
                    f"at {', '.join(fmt_value(exported.knob_values[k]) for k in moved)}",
                    "yellow",
                )
        if self._cfx_hidden:
            status.append(f"  (too narrow for {', '.join(self._cfx_hidden)})", "dim")
        self._status(status)

    @on(FileRunDone)
    def _file_done(self, event: FileRunDone) -> None:
        if self.state.onnx is None or self.state.onnx.path != event.path:
            return  # another file (or a model) took its place meanwhile
        r = event.result
        self.state.feed_plans.setdefault(event.path, event.plan)
        self._cfx_file_result = r
        self._cfx_last_diff = None
        self._cfx_command = r.command
        fill_file_table(self._columns(FILE_COLUMNS), r)
        hist = r.outputs[0].histogram if r.outputs else []
        self.query_one(Sparkline).data = [float(x) for x in hist]
        self.query_one("#chart-line").display = bool(hist)
        self._status(file_status(r))
        if event.saved:
            self.notify(event.saved, severity="warning", timeout=6)

    # -- inputs -----------------------------------------------------------------------

    def action_edit_inputs(self) -> None:
        """e: edit the inputs of a file opened alone (values, shapes, symbolic dims), or
        the input shapes of a Python model (applied by reloading it)."""
        if self.file_mode and self.state.onnx is not None:
            ref, r = self.state.onnx, self._cfx_file_result
            if r is None or not r.declared:
                self.notify("the file's inputs are read on its first run: wait for it", timeout=3)
                return
            plan = self.state.feed_plans.get(ref.path) or FeedPlan()
            self.app.push_screen(file_dialog(ref.label, r.declared, plan), self._file_plan)
            return
        spec, info = self.state.spec, self.state.info
        if spec is None or info is None:
            self.notify("nothing loaded: pick a variant in 1 Variants", timeout=2)
        elif spec.variant:
            self.notify("a built-in variant's inputs are fixed; open a file to edit", timeout=3)
        elif not info.inputs:
            self.notify("this model has no tensor inputs to edit", timeout=2)
        else:
            dialog = model_dialog(spec.short_label, list(info.inputs))
            self.app.push_screen(dialog, self._model_plan)

    def _file_plan(self, plan: FeedPlan | None) -> None:
        if plan is None or self.state.onnx is None:
            return
        self.state.feed_plans[self.state.onnx.path] = plan
        self._cfx_save_plan = True
        self.action_rerun()

    def _model_plan(self, plan: FeedPlan | None) -> None:
        from dataclasses import replace

        from cfexplore.target import inputstore

        from .diff_inputs import model_specs, spec_text

        spec, info = self.state.spec, self.state.info
        if plan is None or not plan.inputs or spec is None or info is None:
            return
        specs = model_specs(list(info.inputs), plan)
        if spec.path:  # every input, so the next open gets them all
            whole = FeedPlan({}, {s.name: spec_text(s) for s in specs})
            try:
                inputstore.remember(spec.path, whole)
            except OSError as exc:
                self.notify(f"inputs not remembered: {exc.strerror or exc}", severity="warning")
        self.cfx.load_target(replace(spec, inputs=tuple(specs)))

    # -- sweep ------------------------------------------------------------------------

    def action_sweep(self) -> None:
        session = self.state.session
        if session is None or self.file_mode:
            self.notify("a sweep needs a loaded variant or user model", severity="warning")
            return
        numbers = self._read_numbers()
        if numbers is None:
            return
        seed, rtol, atol = numbers
        self.query_one("#verdict-view", Static).update(
            Text(f"sweeping every knob under {self.state.exporter}…", "dim")
        )
        worker = self._sweep(
            session, self.state.exporter, self.state.opset, seed, rtol, atol, self._cancel
        )
        jobs.name(worker, f"sweep {self.state.exporter}")

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False)
    def _sweep(
        self,
        session: Any,
        exporter: str,
        opset: int,
        seed: int,
        rtol: float,
        atol: float,
        cancel: threading.Event,
    ) -> None:
        report = session.check(
            [exporter], opset, seed, rtol, atol, progress=jobs.progress, cancel=cancel
        )
        self.post_message(SweepDone(report))

    @on(SweepDone)
    def _swept(self, event: SweepDone) -> None:
        from cfexplore.render.report import VERDICT_STYLE

        grid = Table.grid(padding=(0, 0, 0, 2))
        grid.add_column()
        for res in event.report.results:
            if not res.knobs and res.baseline is None:
                grid.add_row(Text(f"{res.exporter}: {res.error or 'no knobs to sweep'}", "dim"))
            for k in [*res.knobs, *([res.baseline] if res.baseline else [])]:
                grid.add_row(
                    Text.assemble(
                        (k.name, "bold"),
                        f" ({res.exporter}) ",
                        (k.verdict, VERDICT_STYLE.get(k.verdict, "")),
                        (f"  max abs {fmt_num(k.max_abs_diff)}", "dim"),
                    )
                )
                # the explanation wraps with a hanging indent under the verdict line
                grid.add_row(Padding(Text(k.explanation), (0, 0, 0, 2)))
        self._frozen = {
            k.name for r in event.report.results for k in r.knobs if k.verdict == "frozen"
        }
        for res in event.report.results:
            if res.branch_trace:
                grid.add_row(
                    Text(f"branch trace ({res.exporter}; also on the Graph screen):", "bold")
                )
                for line in trace_lines(res.branch_trace):
                    grid.add_row(line)
                self.state.traces[res.exporter] = res.branch_trace
                self.cfx.traces_changed.publish(res.exporter)
        if event.report.no_knobs:
            grid.add_row(Text(event.report.no_knobs, "yellow"))
        grid.add_row(Text(f"reproduce: {event.report.command}", "dim"))
        self._cfx_command = event.report.command
        self.query_one("#verdict-view", Static).update(grid)
