"""What `cfexplore locate` answers: the first ONNX value that disagrees with eager PyTorch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ValuePoint:
    """One ONNX value compared with the eager tensor at the same module boundary."""

    path: str
    """Tree path of the node that produced the value (`3/body/1`, as the Graph screen
    and `cfexplore tree` number nodes); the owning node's path for a graph or body input."""
    node_name: str
    op_type: str
    value: str
    """The ONNX value's name."""
    module: str
    """The PyTorch module the producing node came from (the exporter's scope names): its
    qualified name (`step.lin`; the root module is ``)."""
    module_class: str
    compared_at: str
    """The module whose boundary the value was compared at (qualified name)."""
    compared_class: str
    boundary: str
    """`input` or `output` of that module."""
    source: str
    """`file:line` of the producing node in the user's code, or ``."""
    iteration: list[int] = field(default_factory=list)
    """Per enclosing Loop/If body: which execution of it (0-based); empty at the top level."""
    max_abs: float | None = None
    max_rel: float | None = None
    note: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Divergence:
    """The answer of one `locate` run on one export."""

    target: str
    exporter: str
    seed: int
    knob_values: dict[str, Any]
    diverged: bool
    checked: int
    """How many (ONNX value, eager tensor) pairs were compared."""
    first: ValuePoint | None = None
    last_agreeing: ValuePoint | None = None
    """The last compared value before `first` that agreed (None when none did)."""
    outputs_differ: bool = False
    """Whether the model's outputs differ at all (as `diff` would say)."""
    unmapped: int = 0
    """Module calls whose boundary values could not be paired with ONNX values."""
    observed: int = 0
    """ONNX values seen (top level through ONNX Runtime, bodies through the reference
    evaluator, per iteration)."""
    note: str = ""
    command: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "exporter": self.exporter,
            "seed": self.seed,
            "knob_values": self.knob_values,
            "diverged": self.diverged,
            "first": self.first.to_json_dict() if self.first else None,
            "last_agreeing": self.last_agreeing.to_json_dict() if self.last_agreeing else None,
            "checked": self.checked,
            "outputs_differ": self.outputs_differ,
            "unmapped": self.unmapped,
            "observed": self.observed,
            "note": self.note,
            "command": self.command,
        }
