"""Plain dataclasses for everything the core produces.

The CLI's `--json`, the TUI and the tests all read these same objects; they are also what
the worker process sends back, so they hold only small, picklable values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cfexplore.errstats_types import ErrorStats
from cfexplore.spec import InputSpec, Knob

EXPORTERS = ("script", "trace", "dynamo")
"""The three export paths, in display order."""
DEFAULT_OPSET = 18
DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-5
DEFAULT_SEED = 0

VERDICTS = ("preserved", "frozen", "no-effect", "mismatch", "failed")
BAD_VERDICTS = frozenset({"frozen", "mismatch", "failed"})


@dataclass
class TargetInfo:
    """What the worker learnt when it loaded a target."""

    label: str
    description: str
    class_name: str
    source_file: str | None
    params: list[str]
    """forward() parameter names, in order (knobs and tensors)."""
    inputs: list[InputSpec]
    knobs: list[Knob]
    control_lines: list[int] = field(default_factory=list)
    """Source lines (1-based) of if/for/while statements in the class."""
    searched: str = ""
    """Where knobs were looked for (said when none were found)."""


@dataclass
class ExportResult:
    """One export attempt: the ONNX file (in the worker's temp folder) or a short error."""

    exporter: str
    opset: int
    ok: bool
    seconds: float
    onnx_path: str | None = None
    size_bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    """Short, readable: exception type and the first meaningful line(s)."""
    error_details: str | None = None
    """The full text, for a details view."""
    control_flow: dict[str, int] = field(default_factory=dict)
    onnx_inputs: list[str] = field(default_factory=list)
    knob_values: dict[str, Any] = field(default_factory=dict)
    """Knob values in effect when the model was exported."""
    unoptimized_control_flow: dict[str, int] | None = None
    """dynamo only: If/Loop/Scan counts before `ONNXProgram.optimize()` (audit)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ValidationResult:
    """`onnx.checker` (full check) and ONNX Runtime session creation for one .onnx file.

    Both run in a worker process under a time and memory limit; an error is one line, its
    full text is in the matching `*_details`.
    """

    path: str
    checker_error: str | None = None
    checker_details: str | None = None
    session_error: str | None = None
    session_details: str | None = None
    size_error: str | None = None
    """Set when a tensor's inferred static size alone exceeds the memory limit."""
    largest: str | None = None
    """The largest tensor with a fully known shape: name, shape, bytes."""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    full_check: bool = True
    """False when the checker ran without shape inference (a model over `budget`'s limit,
    or with more subgraphs than onnx's quadratic inference gets through)."""
    check_note: str = ""
    """Why the check was structural only, in a few words."""

    @property
    def ok(self) -> bool:
        return self.checker_error is None and self.session_error is None and not self.size_error

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class TensorDiff:
    """PyTorch vs ONNX Runtime for one output."""

    index: int
    name: str
    torch_shape: list[int] | None
    torch_dtype: str | None
    onnx_shape: list[int] | None
    onnx_dtype: str | None
    max_abs: float | None
    max_rel: float | None
    mismatches: int
    total: int
    passed: bool
    note: str = ""
    histogram: list[int] = field(default_factory=list)
    """Counts of |torch - onnx| per decade: <1e-9, 1e-9..1e-8, ..., >=1e0 (11 bins)."""
    elements: list[TensorDiff] = field(default_factory=list)
    """For a sequence (or map) output: one TensorDiff per element; the fields above then
    summarise them (dtype "seq(<element dtype>)", shape [length]). Empty for tensors."""
    stats: ErrorStats | None = None
    """Error statistics (numeric tensors of equal shape; None otherwise)."""
    rtol: float | None = None
    atol: float | None = None
    """The tolerances this output was checked with (per-output ones included)."""


@dataclass
class DiffResult:
    """A seeded PyTorch vs ONNX Runtime run, with all that is needed to reproduce it."""

    target: str
    exporter: str
    opset: int
    seed: int
    rtol: float
    atol: float
    knob_values: dict[str, Any]
    outputs: list[TensorDiff]
    passed: bool
    torch_error: str | None = None
    onnx_error: str | None = None
    onnx_fed: list[str] = field(default_factory=list)
    """Knob names the ONNX graph took as inputs (others were frozen into the graph)."""
    providers: list[str] = field(default_factory=list)
    available_providers: list[str] = field(default_factory=list)
    torch_ms: float = 0.0
    onnx_ms: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    command: str = ""
    reference_used: bool = False
    """Whether onnx's ReferenceEvaluator ran as a third backend (see `reference`)."""
    reference: list[TensorDiff] = field(default_factory=list)
    """PyTorch vs the reference evaluator, per output."""
    ort_vs_reference: list[TensorDiff] = field(default_factory=list)
    """ONNX Runtime (as `got`) vs the reference evaluator (as `ref`), per output."""
    reference_error: str | None = None
    reference_ms: float = 0.0
    problem: str | None = None
    """`export` (PyTorch differs from both ONNX backends), `runtime` (the ONNX backends
    disagree, or ORT alone differs from PyTorch), or None when all agree."""
    trace: dict[str, Any] = field(default_factory=dict)
    """Tree path -> NodeTrace of each If/Loop for this run (reference evaluator only)."""
    output_counts: list[int] = field(default_factory=list)
    """[PyTorch output leaves, ONNX outputs] (pytree leaves; `None` leaves are none)."""
    structure: str = ""
    """In words, when the outputs do not line up: "PyTorch returns 2 outputs, ONNX 1"."""

    @property
    def max_abs(self) -> float | None:
        vals = [o.max_abs for o in self.outputs if o.max_abs is not None]
        return max(vals) if vals else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SweepRow:
    """One knob value in a sweep."""

    value: Any
    passed: bool
    max_abs: float | None
    torch_changed: bool | None
    """Whether PyTorch's output differs from its output at the export-time value."""
    torch_error: str | None = None
    onnx_error: str | None = None
    reference_passed: bool | None = None
    """PyTorch vs the reference evaluator (None when it did not run)."""
    problem: str | None = None
    trace: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    """In words, why the outputs do not line up or compare: an output-count difference,
    an output that is not a tensor, a shape or dtype change."""
    path: str | None = None
    """tensor-data knobs: the branch eager PyTorch took for this input (`then`/`else`)."""


def diff_note(d: DiffResult) -> str:
    """The structural reason a diff failed, in words (empty when it is only values)."""
    if d.structure:
        return d.structure
    for o in d.outputs:
        if not o.passed and o.note and not o.note.startswith(("nan", "inf", "+inf", "-inf")):
            return f"{o.name}: {o.note}"
    for o in d.outputs:
        if o.torch_dtype and o.onnx_dtype and o.torch_dtype != o.onnx_dtype:
            return f"{o.name}: dtype {o.torch_dtype} in PyTorch, {o.onnx_dtype} in ONNX"
    return ""


@dataclass
class KnobVerdict:
    """The survival verdict for one knob under one exporter."""

    name: str
    where: str
    construct: str
    values: list[Any]
    export_value: Any
    verdict: str
    explanation: str
    max_abs_diff: float | None
    onnx_has_input: bool
    graph_has_construct: bool
    rows: list[SweepRow] = field(default_factory=list)
    command: str = ""
    problem: str | None = None
    """`export` or `runtime` when the three-way check could tell (see DiffResult)."""
    source_file: str | None = None
    source_line: int | None = None
    """Where the knob's control-flow condition is in the Python source."""


@dataclass
class ExporterResult:
    """All knobs of a target under one exporter."""

    exporter: str
    status: str
    error: str | None
    error_details: str | None
    control_flow: dict[str, int]
    knobs: list[KnobVerdict]
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    branch_trace: dict[str, Any] = field(default_factory=dict)
    """Tree path -> NodeTrace merged over every sweep sample (reference evaluator)."""
    baseline: KnobVerdict | None = None
    """With no knobs: the diff at the export inputs and two more seeds, as a verdict
    (`preserved` when all match, `mismatch` otherwise; its rows are per seed)."""


@dataclass
class CheckReport:
    """`cfexplore check`: verdicts for every knob x exporter of one target."""

    target: str
    opset: int
    seed: int
    rtol: float
    atol: float
    results: list[ExporterResult]
    versions: dict[str, str]
    command: str
    no_knobs: str = ""
    """Set when no knobs were found: says so and where they were looked for."""

    @property
    def bad(self) -> bool:
        return any(
            r.status == "failed"
            or any(k.verdict in BAD_VERDICTS for k in r.knobs)
            or (r.baseline is not None and r.baseline.verdict in BAD_VERDICTS)
            for r in self.results
        )

    def verdict(self, knob: str, exporter: str | None = None) -> str:
        """The verdict of `knob` (under `exporter`; without one, the verdict all exporters
        agree on). Raises KeyError for an unknown knob, ValueError when exporters differ."""
        found = {
            r.exporter: k.verdict
            for r in self.results
            if exporter is None or r.exporter == exporter
            for k in r.knobs
            if k.name == knob
        }
        if not found:
            known = sorted({k.name for r in self.results for k in r.knobs})
            raise KeyError(f"no verdict for knob {knob!r} (knobs: {', '.join(known) or 'none'})")
        if len(set(found.values())) > 1:
            each = ", ".join(f"{e}: {v}" for e, v in found.items())
            raise ValueError(f"exporters disagree on {knob!r} ({each}): name the exporter")
        return next(iter(found.values()))

    def verdicts(self) -> dict[str, dict[str, str]]:
        """exporter -> knob -> verdict (the baseline, with no knobs, as `(baseline)`)."""
        out: dict[str, dict[str, str]] = {}
        for r in self.results:
            row = {k.name: k.verdict for k in r.knobs}
            if r.baseline is not None:
                row["(baseline)"] = r.baseline.verdict
            out[r.exporter] = row
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """The stable JSON document documented in the README."""
        return {
            "target": self.target,
            "opset": self.opset,
            "seed": self.seed,
            "rtol": self.rtol,
            "atol": self.atol,
            "versions": self.versions,
            "command": self.command,
            "no_knobs": self.no_knobs or None,
            "results": [
                {
                    "exporter": r.exporter,
                    "status": r.status,
                    "error": r.error,
                    "control_flow": r.control_flow,
                    "seconds": round(r.seconds, 3),
                    "warnings": r.warnings,
                    "branch_trace": {p: t.to_dict() for p, t in r.branch_trace.items()},
                    "baseline": _knob_dict(r.baseline) if r.baseline else None,
                    "knobs": [_knob_dict(k) for k in r.knobs],
                }
                for r in self.results
            ],
        }


def _knob_dict(k: KnobVerdict) -> dict[str, Any]:
    return {
        "name": k.name,
        "where": k.where,
        "construct": k.construct,
        "values": k.values,
        "export_value": k.export_value,
        "verdict": k.verdict,
        "explanation": k.explanation,
        "max_abs_diff": k.max_abs_diff,
        "onnx_has_input": k.onnx_has_input,
        "graph_has_construct": k.graph_has_construct,
        "problem": k.problem,
        "source": (f"{k.source_file}:{k.source_line}" if k.source_line else None),
        "command": k.command,
        "sweep": [_row_dict(row) for row in k.rows],
    }


def _row_dict(row: SweepRow) -> dict[str, Any]:
    out = asdict(row)
    out["trace"] = {p: t.to_dict() for p, t in row.trace.items()}
    return out


@dataclass
class FileRunResult:
    """An .onnx file run on its own: ONNX Runtime against onnx's ReferenceEvaluator on the
    same seeded feeds (a disagreement is a runtime bug; there is no PyTorch side)."""

    path: str
    seed: int
    rtol: float
    atol: float
    inputs: list[str]
    """Each feed in words: `sr = 16000 (scalar int64)`, `input: 1x512 float32`."""
    free_dims: list[str]
    """Symbolic or unnamed dims nothing set, fed as 1 (`--dim` sets them)."""
    names: list[str] = field(default_factory=list)
    outputs: list[TensorDiff] = field(default_factory=list)
    """ORT (`onnx_*`) vs the reference evaluator (`torch_*` fields), per output; empty when
    the reference did not run."""
    ort_shapes: list[str] = field(default_factory=list)
    """Each ORT output's `dtype[shape]`, also when the reference did not run."""
    ort_ms: float = 0.0
    reference_ms: float = 0.0
    ort_error: str | None = None
    reference_error: str | None = None
    passed: bool = False
    command: str = ""
    plan_error: str | None = None
    """Why the input settings could not be applied (an unknown input, a wrong rank)."""
    declared: list[Any] = field(default_factory=list)
    """The file's graph inputs (cfexplore.target.feeds.GraphInput), for an inputs editor."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; each output's sides named for what they are (`reference_*`, `ort_*`)
        and `declared` as name -> declared type."""
        data = asdict(self)
        data["declared"] = {g.name: g.declared() for g in self.declared}
        for out in data["outputs"]:
            for side, name in (("torch", "reference"), ("onnx", "ort")):
                for part in ("shape", "dtype"):
                    out[f"{name}_{part}"] = out.pop(f"{side}_{part}")
        return data
