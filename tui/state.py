"""What the app knows across screens: the loaded target, its exports, the ONNX on show.

`AppState` is a base class of the app: the shared state is the app's own reactives, and a
screen follows one with `self.watch(self.app, "session", callback)`. The run settings
(exporter, opset, seed, tolerances, time limit, feed plans) are plain attributes: screens
read them when they start a job, nothing follows them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.reactive import var

from cfexplore.results import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, DEFAULT_SEED
from cfexplore.settings import RunSettings

from .messages import OnnxRef

if TYPE_CHECKING:
    from cfexplore.analysis.reference import Trace
    from cfexplore.engine.session import Session
    from cfexplore.results import ExportResult, TargetInfo
    from cfexplore.spec import TargetSpec
    from cfexplore.target.feeds import FeedPlan


class AppState(App[None]):
    """The app's shared state; screens read it and watch its reactives for changes."""

    session: var[Session | None] = var(None)
    """The loaded target's session (the target lives in its worker process); each load
    sets a new one (`new_target`)."""
    exports: var[dict[str, ExportResult]] = var(dict, always_update=True)
    """exporter -> last ExportResult. Never changed in place: `record_export` sets a new
    dict, so a watcher gets the old one and the new one."""
    traces: var[dict[str, Trace]] = var(dict, always_update=True)
    """exporter -> branch trace (tree path -> NodeTrace) of the last sweep; a new dict on
    each change, as `exports`."""
    onnx: var[OnnxRef | None] = var(None, always_update=True)
    """The ONNX model the Graph screen shows (and the Diff screen runs, for a file opened
    alone). Setting it again, equal or not (a re-export to the same path), tells its
    watchers again."""

    def __init__(self) -> None:
        super().__init__()
        self.exporter = "script"
        """The exporter the Diff screen runs (Export and Matrix set it)."""
        self.opset = DEFAULT_OPSET
        self.seed = DEFAULT_SEED
        self.rtol = DEFAULT_RTOL
        self.atol = DEFAULT_ATOL
        self.timeout: float | None = 600.0
        """Seconds a load, and each export, may take before its worker is killed."""
        self.run_values: dict[str, Any] = {}
        """Knob values the Diff screen last ran at (Graph's locate runs at them too);
        empty: each knob at its default."""
        self.feed_plans: dict[str, FeedPlan] = {}
        """Resolved path of a file opened alone -> its FeedPlan (values, shapes and
        symbolic dims for its inputs), once set or recalled."""

    def run_settings(self, **changes: Any) -> RunSettings:
        """The app's opset, seed and tolerances as one RunSettings (`changes` on top)."""
        base = RunSettings(opset=self.opset, seed=self.seed, rtol=self.rtol, atol=self.atol)
        return replace(base, **changes)

    @property
    def state(self) -> AppState:
        """The app itself: its state is its own attributes (`app.state.session` reads
        `app.session`; tests read it that way)."""
        return self

    @property
    def spec(self) -> TargetSpec | None:
        """What the loaded target was loaded from, or None with nothing loaded."""
        return self.session.spec if self.session is not None else None

    @property
    def info(self) -> TargetInfo | None:
        """The loaded target's `TargetInfo`, or None with nothing loaded."""
        return self.session.info if self.session is not None else None

    @property
    def label(self) -> str:
        if self.session is not None:
            return self.session.spec.label
        return self.onnx.label if self.onnx else "nothing loaded"

    def new_target(self, session: Session) -> None:
        """`session` is the loaded target from now: the previous one's exports and traces
        are forgotten, and a file opened alone stops being the Diff screen's subject (the
        Graph keeps showing it until the next export). `session` is set last: its watchers
        see the rest already reset."""
        if self.onnx is not None and self.onnx.exporter is None:
            self.onnx = None
        self.exports = {}
        self.traces = {}
        self.run_values = {}
        self.session = session

    def record_export(self, result: ExportResult, label: str) -> None:
        """Remember an export; a successful one becomes the model on show."""
        self.exports = {**self.exports, result.exporter: result}
        if result.ok and result.onnx_path:
            self.set_onnx(
                OnnxRef(result.onnx_path, f"{label} · {result.exporter}", result.exporter)
            )

    def record_traces(self, traces: dict[str, Trace]) -> None:
        """Remember the branch traces of a sweep (exporter -> trace)."""
        self.traces = {**self.traces, **traces}

    def set_onnx(self, ref: OnnxRef) -> None:
        """Show `ref` in the Graph screen (and make it the Diff screen's ONNX-only model)."""
        self.onnx = ref
