"""What the app knows across screens: the loaded target, its exports, the ONNX on show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cfexplore.results import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, DEFAULT_SEED
from cfexplore.spec import TargetSpec

from .messages import OnnxRef

if TYPE_CHECKING:
    from cfexplore.analysis.reference import Trace
    from cfexplore.engine.session import Session
    from cfexplore.results import ExportResult
    from cfexplore.target.feeds import FeedPlan


@dataclass
class AppState:
    """Shared state; screens read it and subscribe to the app's signals for changes."""

    spec: TargetSpec | None = None
    session: Session | None = None
    """The loaded target's session (the target lives in its worker process)."""
    exports: dict[str, ExportResult] = field(default_factory=dict)
    """exporter -> last ExportResult."""
    traces: dict[str, Trace] = field(default_factory=dict)
    """exporter -> branch trace (tree path -> NodeTrace) of the last sweep."""
    onnx: OnnxRef | None = None
    exporter: str = "script"
    opset: int = DEFAULT_OPSET
    seed: int = DEFAULT_SEED
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    timeout: float | None = 600.0
    """Seconds a load, and each export, may take before its worker is killed."""
    feed_plans: dict[str, FeedPlan] = field(default_factory=dict)
    """Resolved path of a file opened alone -> its FeedPlan (values, shapes and symbolic
    dims for its inputs), once set or recalled."""

    @property
    def info(self) -> Any:
        """The loaded target's `cfexplore.results.TargetInfo`, or None with nothing loaded.

        Typed `Any` for now: as `TargetInfo | None`, mypy rejects `screens/diff.py`'s
        `(frozen or knobs or [None])[0]` in `action_open_source`.
        """
        return self.session.info if self.session is not None else None

    @property
    def label(self) -> str:
        if self.spec is not None:
            return self.spec.label
        return self.onnx.label if self.onnx else "nothing loaded"
