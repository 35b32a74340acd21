"""Torch-free descriptions of targets, knobs and inputs.

These plain dataclasses travel between the UI process and the worker process, and
they are what the variant registry is made of, so listing variants never imports torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Where = Literal["forward-arg", "instance-attr", "class-attr", "tensor-data"]
Construct = Literal["If", "Loop"]

WHERE_LABEL: dict[str, str] = {
    "forward-arg": "forward() argument",
    "instance-attr": "instance attribute",
    "class-attr": "class attribute",
    "tensor-data": "tensor data",
}
"""Human wording for each knob placement."""


@dataclass(frozen=True)
class InputSpec:
    """One tensor input of a model: name, shape and dtype; values come from the seed."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    low: float | None = None
    high: float | None = None
    """Optional value range `[low, high)` (integers: token ids must stay below the
    vocabulary size); None keeps the default (normal floats, ints in [0, 4))."""

    def describe(self) -> str:
        text = f"{self.name}: {'x'.join(map(str, self.shape)) or 'scalar'} {self.dtype}"
        if self.low is not None and self.high is not None:
            text += f" in [{self.low:g}, {self.high:g})"
        return text


@dataclass(frozen=True)
class Knob:
    """A control input whose value may (or may not) survive the export.

    `where` says where the value lives; `values` are the ones a sweep tries; `default` is
    the value used at export time. For `tensor-data` knobs, `input` names the tensor the
    knob acts on and `mode` says how: `sign` multiplies |input| by the value (to drive a
    data-dependent condition either way), `fill` sets a scalar tensor input to the value,
    `drive` (a data-dependent `if` found in source) transforms every float input (see
    `cfexplore.target.drive`) and watches which branch eager PyTorch takes.
    """

    name: str
    where: Where
    values: tuple[Any, ...]
    default: Any
    construct: Construct = "If"
    input: str | None = None
    mode: Literal["set", "sign", "fill", "drive"] = "set"
    line: int | None = None
    """Source line (1-based) of the control-flow statement the knob drives, if known."""
    file: str | None = None
    """The source file holding `line` (a submodule's or base class's file); None: the
    target's own file."""

    @property
    def kind(self) -> str:
        return type(self.default).__name__

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VariantSpec:
    """A built-in model variant: where its class lives, its inputs and knobs."""

    name: str
    factory: str
    """`module:attribute` of a callable returning the `nn.Module` (imported in the worker)."""
    description: str
    construct: Construct
    where: Where
    inputs: tuple[InputSpec, ...]
    knobs: tuple[Knob, ...]
    init: dict[str, Any] = field(default_factory=dict)
    heavy: bool = False
    """The full-size seed model (slow to export): left out of tests' fast paths."""


@dataclass(frozen=True)
class TargetSpec:
    """What to load: a built-in variant, or `path/to/file.py:ClassName` with options."""

    variant: str | None = None
    path: str | None = None
    class_name: str | None = None
    init: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[InputSpec, ...] = ()
    weights: str | None = None
    """A state_dict file (.pt/.pth) loaded with `torch.load(weights_only=True)`."""
    module: str | None = None
    """`package.module` of an importable target (`module:callable`); `class_name` then
    names the class or factory in it, and `path` is the module's file (for consent)."""
    values: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """`--values KNOB=v1,v2,...`: the values a sweep tries, per knob (overrides)."""

    @property
    def label(self) -> str:
        if self.variant:
            return self.variant
        if self.module:
            return f"{self.module}:{self.class_name}"
        if self.path is None:
            return self.class_name or "model"
        return f"{self.path}:{self.class_name}"

    @property
    def short_label(self) -> str:
        """The label without a file's folder (`net.py:Net`): for one-line status text."""
        if self.path is not None and not self.variant and not self.module:
            return f"{Path(self.path).name}:{self.class_name}"
        return self.label
