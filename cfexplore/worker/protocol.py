"""The worker's requests: one small dataclass each, typed by the reply it gets.

The parent sends a request object (pickled) and `WorkerClient.call` returns the handler's
reply, typed: `client.call(Diff("script", settings))` is a `DiffResult`. The worker looks
up the handler by the request's class (`worker.runtime.HANDLERS`), so an unknown request
cannot reach user code. Replies and progress travel back as the small dicts `server`
writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from cfexplore.divergence import Divergence
from cfexplore.results import (
    DiffResult,
    ExportResult,
    FileRunResult,
    SweepRow,
    TargetInfo,
    ValidationResult,
)
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec

R = TypeVar("R")


@dataclass(frozen=True)
class Request(Generic[R]):
    """A request whose reply is an `R`; `op` names it in messages (`diff cancelled`)."""

    op: ClassVar[str] = "request"


@dataclass(frozen=True)
class Ping(Request[int]):
    """The worker's pid (is it alive and idle?)."""

    op: ClassVar[str] = "ping"


@dataclass(frozen=True)
class Shutdown(Request[None]):
    """Leave the request loop (no reply)."""

    op: ClassVar[str] = "shutdown"


@dataclass(frozen=True)
class Stats(Request[dict[str, int]]):
    """How many loads, module builds, sessions, exports and diffs the worker did."""

    op: ClassVar[str] = "stats"


@dataclass(frozen=True)
class Load(Request[TargetInfo]):
    """Import and build a target (user code runs here)."""

    spec: TargetSpec
    op: ClassVar[str] = "load"


@dataclass(frozen=True)
class Export(Request[ExportResult]):
    """Export the loaded target with one exporter at `settings.values`, `settings.opset`."""

    exporter: str
    settings: RunSettings = field(default_factory=RunSettings)
    op: ClassVar[str] = "export"


@dataclass(frozen=True)
class Diff(Request[DiffResult]):
    """Seeded PyTorch vs ONNX Runtime (vs the reference evaluator) on the current export."""

    exporter: str
    settings: RunSettings = field(default_factory=RunSettings)
    op: ClassVar[str] = "diff"


@dataclass(frozen=True)
class Locate(Request[Divergence]):
    """The first ONNX value of the current export that disagrees with eager PyTorch."""

    exporter: str
    settings: RunSettings = field(default_factory=RunSettings)
    op: ClassVar[str] = "locate"


@dataclass(frozen=True)
class Sweep(Request[tuple[list[SweepRow], bool]]):
    """A diff at every value of `knob` (or at `only`): the rows, and whether the graph
    takes the knob as an input."""

    exporter: str
    knob: str
    settings: RunSettings = field(default_factory=RunSettings)
    only: list[Any] | None = None
    op: ClassVar[str] = "sweep"


@dataclass(frozen=True)
class Eager(Request[int]):
    """Eager PyTorch alone at these settings (does it crash?): the output leaf count."""

    settings: RunSettings = field(default_factory=RunSettings)
    op: ClassVar[str] = "eager"


@dataclass(frozen=True)
class Validate(Request[ValidationResult]):
    """onnx's full check and an ONNX Runtime session for an `.onnx` file."""

    path: str
    op: ClassVar[str] = "validate"


@dataclass(frozen=True)
class RunOnnx(Request[tuple[list[str], list[Any], float]]):
    """Run an `.onnx` file alone in ONNX Runtime: output names, outputs, milliseconds."""

    path: str
    feeds: dict[str, Any] | None = None
    seed: int = 0
    op: ClassVar[str] = "run_onnx"


@dataclass(frozen=True)
class Analyse(Request[Any]):
    """The Graph screen's analysis of a file: tree summary, audit, warnings."""

    path: str
    op: ClassVar[str] = "analyse"


@dataclass(frozen=True)
class InferTypes(Request[Any]):
    """onnx shape inference for a file too big to infer in the app."""

    path: str
    op: ClassVar[str] = "infer_types"


@dataclass(frozen=True)
class FileInputs(Request[list[Any]]):
    """The declared graph inputs of a lone `.onnx` file."""

    path: str
    op: ClassVar[str] = "file_inputs"


@dataclass(frozen=True)
class RunFile(Request[FileRunResult]):
    """A lone `.onnx` file: ONNX Runtime vs the reference evaluator on planned feeds."""

    path: str
    plan: dict[str, Any]
    settings: RunSettings = field(default_factory=RunSettings)
    op: ClassVar[str] = "run_file"
