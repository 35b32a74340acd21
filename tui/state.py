"""What the app knows across screens: the loaded target, its exports, the ONNX on show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cfexplore.results import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, DEFAULT_SEED
from cfexplore.spec import TargetSpec

from .messages import OnnxRef


@dataclass
class AppState:
    """Shared state; screens read it and subscribe to the app's signals for changes."""

    spec: TargetSpec | None = None
    session: Any = None
    """cfexplore.engine.session.Session of the loaded target (lives in its worker process)."""
    exports: dict[str, Any] = field(default_factory=dict)
    """exporter -> last ExportResult."""
    traces: dict[str, Any] = field(default_factory=dict)
    """exporter -> branch trace (tree path -> NodeTrace) of the last sweep."""
    onnx: OnnxRef | None = None
    exporter: str = "script"
    opset: int = DEFAULT_OPSET
    seed: int = DEFAULT_SEED
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    timeout: float | None = 600.0
    """Seconds a load, and each export, may take before its worker is killed."""
    feed_plans: dict[str, Any] = field(default_factory=dict)
    """Resolved path of a file opened alone -> its cfexplore.target.feeds.FeedPlan (values, shapes
    and symbolic dims for its inputs), once set or recalled."""

    @property
    def info(self) -> Any:
        return self.session.info if self.session is not None else None

    @property
    def label(self) -> str:
        if self.spec is not None:
            return self.spec.label
        return self.onnx.label if self.onnx else "nothing loaded"
