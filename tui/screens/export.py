"""Export screen: pick exporter and opset, export in the worker process, see the result."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Checkbox,
    Input,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
)
from textual.worker import Worker

from cfexplore.errors import Cancelled, CfxError
from cfexplore.fmt import fmt_value
from cfexplore.outpath import DATA_SUFFIX_BYTES, check_target
from cfexplore.results import EXPORTERS, ExportResult
from cfexplore.settings import RunSettings

from .. import jobs
from ..messages import Exported, Progressed, Saved
from ..widgets.footer import CfxFooter
from ..widgets.mode_bar import ModeBar
from ..widgets.text_input import TextInput
from ..worker_errors import titled
from .base import CfxScreen

if TYPE_CHECKING:
    from cfexplore.engine.session import Session


class ExportScreen(CfxScreen):
    """Export the loaded target with script, trace or dynamo; save the .onnx file."""

    HELP = (
        "Choose the exporter (script = torch.jit.script + TorchScript exporter, trace = "
        "torch.jit.trace, dynamo = torch.export) and the opset, then export. The export runs "
        "in the target's worker process: the app stays responsive and Escape cancels it (the "
        "process is killed). A failure shows a one-line error; d expands the full text. Type a "
        "path and press w (or Enter in the box) to save the .onnx file atomically; tick "
        "'weights in .data' to keep the weights in a sibling data file (model and data are "
        "saved together: an interrupted save leaves the previous pair intact)."
    )
    BINDINGS = [
        Binding("x", "export", "Export", id="export"),
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("d", "details", "Details", id="details"),
        Binding("w", "save", "Save", id="save"),
        Binding("s", "exporter('script')", "script", show=False),
        Binding("t", "exporter('trace')", "trace", show=False),
        Binding("y", "exporter('dynamo')", "dynamo", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._cancel: threading.Event | None = None
        self._started = 0.0
        self._result: ExportResult | None = None
        self._show_details = False
        self._last_progress = ""

    def compose(self) -> ComposeResult:
        yield ModeBar("export")
        with Horizontal(id="export-controls"):
            with RadioSet(id="exporter-set"):
                for name in EXPORTERS:
                    yield RadioButton(name, value=name == "script", id=f"exp-{name}")
            with Vertical(id="export-options"):
                yield Label("opset")
                yield TextInput(str(self.cfx.opset), id="opset-input", type="integer", max_length=3)
                yield Static(id="target-line")
        with Horizontal(id="run-line"):
            yield ProgressBar(id="export-progress", show_eta=False, show_percentage=False)
            yield Static(id="run-status")
        with VerticalScroll(id="result-scroll"):
            yield Static(id="result-view")
        with Horizontal(id="save-line"):
            yield Label("save to ")
            yield TextInput(placeholder="path/to/model.onnx", id="save-input")
            yield Checkbox("weights in .data", id="external-data")
        yield CfxFooter()

    def on_mount(self) -> None:
        self.query_one("#export-progress", ProgressBar).display = False
        self.watch(self.app, "session", self._target_changed)
        self.watch(self.app, "exports", self._export_recorded, init=False)
        self.set_interval(0.1, self._tick)
        self.query_one(RadioSet).focus()

    # -- state ------------------------------------------------------------------------

    def _target_changed(self, session: Session | None) -> None:
        line = self.query_one("#target-line", Static)
        if session is None:
            line.update(Text("no target — load a variant in 1 Variants", "dim"))
        else:
            line.update(Text.assemble(("target ", "dim"), (session.info.label, "bold")))
        self._result = None
        self._show_result()

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return None if self.running or self.cfx.session is None else True
        if action == "cancel":  # also: Escape leaves a text box
            return True if self.running or isinstance(self.focused, Input) else None
        if action in ("details", "save"):
            return True if self._result is not None else None
        return True

    @property
    def exporter(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return str(pressed.label) if pressed is not None else "script"

    def action_exporter(self, name: str) -> None:
        self.query_one(f"#exp-{name}", RadioButton).value = True

    @on(RadioSet.Changed)
    def _exporter_changed(self, event: RadioSet.Changed) -> None:
        self.cfx.exporter = str(event.pressed.label)

    # -- export -----------------------------------------------------------------------

    def action_export(self) -> None:
        session = self.cfx.session
        if session is None:
            self.notify("load a variant first (1 Variants)", severity="warning")
            return
        try:
            opset = int(self.query_one("#opset-input", Input).value or "0")
        except ValueError:
            opset = 0
        if not 7 <= opset <= 25:
            self.notify("opset must be between 7 and 25", severity="error")
            return
        self.cfx.opset = opset
        self._cancel = threading.Event()
        self._started = time.monotonic()
        self._last_progress = "starting"
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=None)
        bar.display = True
        self.refresh_bindings()
        jobs.name(
            self._export(session, self.exporter, RunSettings(opset=opset), self._cancel),
            f"export {self.exporter}",
        )

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(
        self, session: Session, exporter: str, settings: RunSettings, cancel: threading.Event
    ) -> None:
        def progress(frac: float | None, text: str) -> None:
            jobs.progress(frac, text)
            self.post_message(Progressed("export", frac, text))

        result = session.export(exporter, settings, progress=progress, cancel=cancel)
        self.post_message(Exported(result, session.spec.label))

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
        self._last_progress = "cancelling"
        return True

    @on(Progressed)
    def _progress(self, event: Progressed) -> None:
        if event.source == "export":
            self._last_progress = event.text

    def _tick(self) -> None:
        if not self.running:
            return
        elapsed = time.monotonic() - self._started
        self.query_one("#run-status", Static).update(
            Text.assemble(
                ("exporting ", "bold"),
                f"{elapsed:5.1f}s  ",
                # whole words only: the exporter's line folds under the bar if it must
                (textwrap.shorten(self._last_progress, 90, placeholder="…"), "dim"),
                ("  Esc cancels", "dim"),
            )
        )

    def _stop_running(self) -> None:
        self._cancel = None
        self.query_one("#export-progress", ProgressBar).display = False
        self.refresh_bindings()

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == "save":
            return
        self._stop_running()
        cancelled = isinstance(worker.error, Cancelled)
        text = "export cancelled" if cancelled else "export stopped"
        self.query_one("#run-status", Static).update(Text(text, "yellow"))

    @on(Exported)
    def _finished(self, event: Exported) -> None:
        event.stop()
        self._stop_running()
        result = event.result
        status = self.query_one("#run-status", Static)
        if result.ok:
            status.update(
                Text.assemble(
                    ("done ", "bold green"),
                    f"{result.seconds:.2f}s",
                    ("  → 3 Graph, 4 Diff", "dim"),
                )
            )
        else:
            status.update(Text("export failed", "bold red"))
        self.cfx.record_export(result, event.label)

    def _export_recorded(self, old: dict[str, ExportResult], new: dict[str, ExportResult]) -> None:
        """Any export (here, from Diff or Matrix) becomes the result on show: the one
        `new` holds that `old` did not (none when a new target's exports start empty)."""
        recorded = [r for exporter, r in new.items() if old.get(exporter) is not r]
        if self.running or not recorded:
            return
        self._result = recorded[-1]
        self._show_details = False
        self._show_result()
        self.refresh_bindings()

    def _show_result(self) -> None:
        view = self.query_one("#result-view", Static)
        r = self._result
        if r is None:
            view.update(
                Text("x exports with the chosen exporter (s/t/y pick script, trace, dynamo)", "dim")
            )
            return
        out = Text()
        if r.ok:
            out.append("ok  ", "bold green")
            out.append(
                f"{r.exporter}, opset {r.opset}, {r.seconds:.2f}s, {r.size_bytes / 1024:.1f} KiB\n"
            )
            for op, n in r.control_flow.items():
                out.append(f"{op} {n}  ", "bold magenta" if n else "dim")
            out.append("\nONNX inputs: ", "dim")
            out.append(", ".join(r.onnx_inputs) or "(none)")
            vals = ", ".join(f"{k}={fmt_value(v)}" for k, v in r.knob_values.items())
            if vals:
                out.append("\nknobs at export: ", "dim")
                out.append(vals)
            out.append("\n")
        else:
            out.append("failed  ", "bold red")
            out.append(f"{r.exporter} after {r.seconds:.2f}s\n")
            out.append(r.error or "", "red")
            out.append("\n")
            if self._show_details and r.error_details:
                out.append("\n" + r.error_details + "\n", "dim")
            else:
                out.append("d shows the full error\n", "dim")
        if r.warnings:
            out.append(f"\n{len(r.warnings)} warning(s):\n", "yellow")
            for w in r.warnings:
                out.append(f"• {w}\n", "dim")
        view.update(out)

    def action_details(self) -> None:
        self._show_details = not self._show_details
        self._show_result()

    @on(Input.Submitted, "#save-input")
    def _save_submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        r = self._result
        target = self.query_one("#save-input", Input).value.strip()
        if r is None or not r.ok or not r.onnx_path:
            self.notify("nothing to save: export successfully first", severity="warning")
            return
        if not target:
            self.query_one("#save-input", Input).focus()
            self.notify("type a path to save to, then Enter", timeout=3)
            return
        dest = Path(target).expanduser()
        if dest.is_dir():
            dest = dest / f"{self.cfx.label.replace('/', '_')}.{r.exporter}.onnx"
        external = self.query_one("#external-data", Checkbox).value
        try:  # a device, FIFO, link, missing or read-only folder: refused before writing
            dest = check_target(dest, extra_suffix=DATA_SUFFIX_BYTES * external)
        except CfxError as exc:
            self.notify(f"cannot save: {exc}", severity="error")
            return
        titled(self._save(r.onnx_path, dest, external), f"Cannot save {dest}")

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save(self, src: str, dest: Path, external: bool) -> None:
        """Write the model (and its data file) off the UI thread: weights can be large."""
        from cfexplore.graph.save import save_onnx

        self.post_message(Saved(save_onnx(src, dest, external_data=external)))

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        *data, model = event.files
        extra = f" + {data[0].name}" if data else ""
        self.notify(f"saved {model}{extra}", timeout=4)
