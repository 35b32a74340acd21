"""Diff screen: live seeded PyTorch vs ONNX Runtime diff, knobs, tolerances, sweep verdicts.

This module holds the controls and their keys: an edit re-runs the diff after a pause.
The runs and their results are `diff_runs` (the screen's base class), what they show
`diff_results` and `diff_verdicts`, the inputs editor `diff_inputs`, the knob widgets
`widgets.diff_knobs`."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Select, Sparkline, Static, Switch

from cfexplore.errors import CfxError
from cfexplore.outpath import check_target
from cfexplore.render.report import DIFF_COLUMNS
from cfexplore.results import EXPORTERS
from cfexplore.settings import RunSettings
from cfexplore.target.feeds import FeedPlan

from .. import jobs
from ..messages import OnnxRef
from ..widgets.diff_knobs import KnobBar
from ..widgets.footer import CfxFooter
from ..widgets.mode_bar import ModeBar
from ..widgets.text_input import TextInput
from .diff_inputs import file_dialog, model_dialog, with_inputs
from .diff_results import reset_table
from .diff_runs import DiffDone, DiffRunsScreen

DEBOUNCE = 0.3
"""Seconds of quiet after an edit before the diff re-runs."""


class DiffScreen(DiffRunsScreen):
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
        "edits its input shapes and reloads it. After a FAIL, l locates the first ONNX "
        "node whose value differs from PyTorch and shows it on the Graph screen."
    )
    BINDINGS = [
        Binding("s", "sweep", "Sweep", id="sweep"),
        Binding("r", "rerun", "Re-run", id="rerun"),
        Binding(
            "l",
            "locate",
            "Locate",
            id="locate",
            tooltip="After a FAIL: the first ONNX node whose value differs from PyTorch, "
            "on the Graph screen",
        ),
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
        self._cfx_last_run: tuple[str, ...] | None = None
        """What the last diff ran with: an edit that changes nothing (a knob widget's first
        Changed on mount) does not start the same diff again."""
        self._cfx_save_plan = False
        """Remember the file's input plan on the next run (it was just edited)."""

    def compose(self) -> ComposeResult:
        yield ModeBar("diff")
        with Horizontal(id="diff-controls"):
            yield Label("seed")
            yield TextInput(str(self.cfx.seed), id="seed", type="integer")
            yield Label("rtol")
            yield TextInput(f"{self.cfx.rtol:g}", id="rtol", type="number")
            yield Label("atol")
            yield TextInput(f"{self.cfx.atol:g}", id="atol", type="number")
            yield Static(id="exporter-label")
        yield KnobBar(id="knobs")
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
        reset_table(table, DIFF_COLUMNS)
        self.watch(self.app, "session", self._target_changed)
        self.watch(self.app, "onnx", self._onnx_changed, init=False)
        table.focus()

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        if self._cfx_last_diff is not None:
            self._done(DiffDone(self._cfx_last_diff))  # table and status, refitted

    # -- mode -------------------------------------------------------------------------

    @property
    def file_mode(self) -> bool:
        """An .onnx file opened on its own: ONNX Runtime only, no PyTorch side."""
        onnx = self.cfx.onnx
        return onnx is not None and onnx.exporter is None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A file opened alone has no PyTorch side: no sweep, exporter, knobs, source or
        report keys; a built-in variant has no inputs to edit; locate follows a FAIL."""
        if action in ("sweep", "next_exporter", "focus_knobs", "open_source", "write_report"):
            return not self.file_mode
        if action == "locate":  # offered after a diff that failed
            return True if self._cfx_locate_at is not None and not self.file_mode else None
        if action == "edit_inputs":
            spec = self.cfx.spec
            return self.file_mode or (spec is not None and not spec.variant)
        return True

    def _target_changed(self) -> None:
        self.refresh_bindings()
        self._cfx_command = ""
        self._cfx_last_diff = None
        self._cfx_file_result = None
        self._cfx_locate_at = None
        if self.is_mounted:  # the previous target's results go at once, not at the next run
            self.query_one("#diff-table", DataTable).clear()
            self._status(Text(f"{self.cfx.label}: starting…", "dim"))
        self._build_knobs()
        self.query_one("#verdict-view", Static).update("")
        self._update_exporter_label()
        self._schedule()

    def _onnx_changed(self, ref: OnnxRef | None) -> None:
        self.refresh_bindings()
        if ref is not None and ref.exporter is None:
            self._build_knobs()
            self._update_exporter_label()
            self._schedule()

    def _update_exporter_label(self) -> None:
        label = self.query_one("#exporter-label", Static)
        if self.file_mode and self.cfx.onnx:
            # the mode bar names the file; this says what runs
            label.update(Text.assemble(("ORT", "bold"), (" vs ", "dim"), ("reference", "bold")))
        elif self.cfx.session is not None:
            label.update(
                Text.assemble(("exporter ", "dim"), (self.cfx.exporter, "bold"), (" (t)", "dim"))
            )
        else:
            label.update(Text("load a variant in 1 Variants", "dim"))

    def _build_knobs(self) -> None:
        """Rebuild the knob widgets for the loaded target (old ones removed first)."""
        self.run_worker(self._rebuild_knobs(), group="knobs", exclusive=True, exit_on_error=False)

    async def _rebuild_knobs(self) -> None:
        bar = self.query_one("#knobs", KnobBar)
        info = self.cfx.info
        knobs = [] if self.file_mode or info is None else info.knobs
        await bar.show_knobs(knobs, info.label if info else "")

    def knob_values(self) -> dict[str, Any]:
        info = self.cfx.info
        if info is None or self.file_mode:
            return {}
        return self.query_one("#knobs", KnobBar).values(info.knobs)

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
        info = self.cfx.info
        values = self.knob_values()
        knobs = (
            [] if info is None else [(k.name, values.get(k.name, k.default)) for k in info.knobs]
        )
        boxes = [self.query_one(f"#{i}", Input).value for i in ("seed", "rtol", "atol")]
        label = info.label if info is not None else ""
        onnx = self.cfx.onnx.path if self.file_mode and self.cfx.onnx else ""
        return (label, str(onnx), self.cfx.exporter, *boxes, repr(knobs))

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
            seed = self.cfx.seed
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
        self.cfx.seed, self.cfx.rtol, self.cfx.atol = seed, rtol, atol
        return seed, rtol, atol

    def action_rerun(self) -> None:
        numbers = self._read_numbers()
        if numbers is None:
            return
        seed, rtol, atol = numbers
        self._cfx_last_run = self._run_key()
        self._cancel.set()
        self._cancel = threading.Event()
        if self.file_mode and self.cfx.onnx is not None:
            self._status_later(Text("running ONNX Runtime…", "dim"))
            save, self._cfx_save_plan = self._cfx_save_plan, False
            path = self.cfx.onnx.path
            plan = self.cfx.feed_plans.get(path)
            settings = RunSettings(seed=seed, rtol=rtol, atol=atol)
            worker = self._run_file(path, plan, settings, save, self.cfx.timeout, self._cancel)
            jobs.name(worker, f"running {self.cfx.onnx.label}")
            return
        session = self.cfx.session
        if session is None:
            self._status(Text("nothing loaded: pick a variant in 1 Variants", "dim"))
            return
        self._status_later(Text(f"running {self.cfx.exporter}…", "dim"))
        self.cfx.run_values = values = self.knob_values()
        settings = self.cfx.run_settings(seed=seed, rtol=rtol, atol=atol, values=values)
        worker = self._run(session, self.cfx.exporter, settings, self._cancel)
        jobs.name(worker, f"diff {self.cfx.exporter}")

    # -- keys -------------------------------------------------------------------------

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

        info = self.cfx.info
        if info is None or not info.source_file:
            self.notify("no Python source for this target", timeout=2)
            return
        knobs = [k for k in info.knobs if k.line]
        frozen = [k for k in knobs if k.name in self._frozen]
        chosen = next(iter(frozen or knobs), None)
        line = chosen.line if chosen is not None else (info.control_lines or [1])[0]
        why = f"{chosen.name}: frozen" if chosen in frozen else (chosen.name if chosen else "")
        self.app.push_screen(SourceScreen(info.source_file, line or 1, why))

    def action_focus_seed(self) -> None:
        self.query_one("#seed", Input).focus()

    def action_leave_or_cancel(self) -> None:
        """Escape: leave an edit box (so letter keys work again), else cancel the run."""
        if isinstance(self.focused, Input | Switch):
            self.query_one(DataTable).focus()
        else:
            self.cancel_job()

    def action_next_exporter(self) -> None:
        i = EXPORTERS.index(self.cfx.exporter)
        self.cfx.exporter = EXPORTERS[(i + 1) % len(EXPORTERS)]
        self._update_exporter_label()
        self._schedule()

    async def action_locate(self) -> None:
        """l after a FAIL: locate at that diff's settings, on the Graph screen (which shows
        the export and jumps to the first diverging node)."""
        from .graph import GraphScreen

        at = self._cfx_locate_at
        if at is None or self.file_mode:
            self.notify("locate follows a diff that failed", timeout=3)
            return
        exporter, settings = at
        await self.cfx.switch_mode("graph")
        graph = self.app.screen
        if isinstance(graph, GraphScreen):
            graph.start_locate(exporter, settings)

    def action_copy_command(self) -> None:
        """y: the one-line command that reproduces the last result, to the clipboard."""
        if not self._cfx_command:
            self.notify("no result to copy yet", timeout=2)
            return
        self.cfx.copy_text(self._cfx_command, "the reproduce command")

    # -- inputs -----------------------------------------------------------------------

    def action_edit_inputs(self) -> None:
        """e: edit the inputs of a file opened alone (values, shapes, symbolic dims), or
        the input shapes of a Python model (applied by reloading it)."""
        if self.file_mode and self.cfx.onnx is not None:
            ref, r = self.cfx.onnx, self._cfx_file_result
            if r is None or not r.declared:
                self.notify("the file's inputs are read on its first run: wait for it", timeout=3)
                return
            plan = self.cfx.feed_plans.get(ref.path) or FeedPlan()
            self.app.push_screen(file_dialog(ref.label, r.declared, plan), self._file_plan)
            return
        spec, info = self.cfx.spec, self.cfx.info
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
        if plan is None or self.cfx.onnx is None:
            return
        self.cfx.feed_plans[self.cfx.onnx.path] = plan
        self._cfx_save_plan = True
        self.action_rerun()

    def _model_plan(self, plan: FeedPlan | None) -> None:
        spec, info = self.cfx.spec, self.cfx.info
        if plan is None or not plan.inputs or spec is None or info is None:
            return
        target, warning = with_inputs(spec, list(info.inputs), plan)
        if warning:
            self.notify(warning, severity="warning")
        self.cfx.load_target(target)

    # -- sweep and report -------------------------------------------------------------

    def action_sweep(self) -> None:
        session = self.cfx.session
        if session is None or self.file_mode:
            self.notify("a sweep needs a loaded variant or user model", severity="warning")
            return
        numbers = self._read_numbers()
        if numbers is None:
            return
        seed, rtol, atol = numbers
        self.query_one("#verdict-view", Static).update(
            Text(f"sweeping every knob under {self.cfx.exporter}…", "dim")
        )
        settings = self.cfx.run_settings(seed=seed, rtol=rtol, atol=atol)
        worker = self._sweep(session, self.cfx.exporter, settings, self._cancel)
        jobs.name(worker, f"sweep {self.cfx.exporter}")

    def action_write_report(self) -> None:
        """Write the Markdown report (all exporters) for the loaded target, in a worker."""
        session = self.cfx.session
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
        seed, rtol, atol = numbers
        settings = self.cfx.run_settings(seed=seed, rtol=rtol, atol=atol)
        jobs.name(self._report(session, path, settings, self._cancel), "report")
