"""Inputs for an .onnx file run on its own: what each graph input declares, and the feeds.

A lone .onnx file has no `example_inputs()`: its graph inputs declare a dtype and a shape
whose dims may be symbolic (`batch`, `N`) or unnamed, and some inputs are control scalars
(silero-vad's `sr` must be 8000 or 16000, not a random number). A `FeedPlan` holds what
the user set, in the CLI's words: `--dim N=512` for a symbolic dim, and per input either a
value (`sr=16000`, for a scalar input) or a shape (`state=2x1x128[:dtype][:lo..hi]`).
Everything not set is seeded from the declared type, a free dim fed as 1 (and said so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cfexplore.errors import CfxError
from cfexplore.spec import InputSpec
from cfexplore.target.targets import parse_input, parse_value

FREE_DIM = 1
"""The size a symbolic or unnamed dim gets when nothing sets it."""


@dataclass(frozen=True)
class GraphInput:
    """One input of an ONNX graph as declared: name, numpy dtype and dims.

    `dims` holds an int (static), a str (symbolic, e.g. `batch`) or None (unnamed) per
    axis; `dims` is None when the rank itself is unknown. `kind` is `tensor`, or the ONNX
    type for inputs cfexplore cannot feed (`sequence`, `map`, `optional`).
    """

    name: str
    dtype: str
    dims: tuple[int | str | None, ...] | None
    kind: str = "tensor"

    def declared(self) -> str:
        """`float32[batch,512]`, `int64 scalar`, `float32[?]` (rank unknown)."""
        if self.kind != "tensor":
            return self.kind
        if self.dims is None:
            return f"{self.dtype}[?]"
        if not self.dims:
            return f"{self.dtype} scalar"
        return f"{self.dtype}[{','.join('?' if d is None else str(d) for d in self.dims)}]"

    @property
    def symbols(self) -> list[str]:
        return [d for d in self.dims or () if isinstance(d, str)]

    @property
    def is_scalar(self) -> bool:
        return self.dims == ()


def graph_inputs(model: Any) -> list[GraphInput]:
    """The inputs a caller must feed (initializers that double as inputs are left out)."""
    from onnx import helper

    init = {i.name for i in model.graph.initializer}
    out: list[GraphInput] = []
    for vi in model.graph.input:
        if vi.name in init:
            continue
        which = vi.type.WhichOneof("value")
        if which != "tensor_type":
            out.append(GraphInput(vi.name, "", None, (which or "unknown").replace("_type", "")))
            continue
        tt = vi.type.tensor_type
        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type)).name
        except Exception:  # an elem_type numpy has no name for (or none at all)
            dtype = f"elem_type {tt.elem_type}"
        dims: tuple[int | str | None, ...] | None = None
        if tt.HasField("shape"):
            dims = tuple(
                d.dim_value
                if d.HasField("dim_value") and d.dim_value > 0
                else (d.dim_param or None)
                for d in tt.shape.dim
            )
        out.append(GraphInput(vi.name, dtype, dims))
    return out


@dataclass(frozen=True)
class Fill:
    """A constant input: every element equals `value` (`sr=16000`)."""

    name: str
    value: bool | int | float
    shape: tuple[int, ...]
    dtype: str


@dataclass
class FeedPlan:
    """What the user set for a file's inputs, as the CLI spells it (the app's editor and
    the remembered settings use the same texts)."""

    dims: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    """Input name -> the text after `NAME=` of `--input`: a value or a shape."""

    def to_dict(self) -> dict[str, Any]:
        return {"dims": dict(self.dims), "inputs": dict(self.inputs)}

    @classmethod
    def from_dict(cls, data: Any) -> FeedPlan:
        """From `to_dict` output; anything malformed is dropped (it is a config file)."""
        if not isinstance(data, dict):
            return cls()
        dims, inputs = data.get("dims"), data.get("inputs")
        dims = dims if isinstance(dims, dict) else {}
        inputs = inputs if isinstance(inputs, dict) else {}
        return cls(
            {str(k): v for k, v in dims.items() if isinstance(v, int) and v > 0},
            {str(k): v for k, v in inputs.items() if isinstance(v, str)},
        )


def parse_dim(item: str) -> tuple[str, int]:
    """`N=512` -> ("N", 512)."""
    name, sep, size = item.partition("=")
    try:
        value = int(size)
    except ValueError:
        value = 0
    if not sep or not name.strip() or value <= 0:
        raise CfxError(f"--dim expects SYMBOL=N, N a positive integer (N=512), got {item!r}")
    return name.strip(), value


def plan_from_args(inputs: list[str] | None, dims: list[str] | None) -> FeedPlan:
    """`--input NAME=…` and `--dim SYMBOL=N` options -> a FeedPlan (texts checked later,
    against the file's declared inputs)."""
    plan = FeedPlan()
    for item in dims or []:
        sym, n = parse_dim(item)
        plan.dims[sym] = n
    for item in inputs or []:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise CfxError(f"--input expects NAME=VALUE or NAME=SHAPE[:dtype], got {item!r}")
        plan.inputs[name.strip()] = text.strip()
    return plan


def _is_value(text: str) -> bool:
    """`16000`, `0.5`, `-1e-3`, `true`: a value, not a shape."""
    return isinstance(parse_value(text), (bool, int, float)) and ":" not in text


def _entry(gi: GraphInput, text: str) -> InputSpec | Fill:
    """One input's text -> a seeded spec or a constant fill.

    A plain number sets the value: of a scalar input (`sr=16000`), or of every element of
    the declared shape for a non-scalar one whose shape is static or set by --dim;
    anything else is a shape as `--input` takes it (`1x512`, `2x1x128:float32:0..1`)."""
    if _is_value(text) and "x" not in text.lower():
        value = parse_value(text)
        one_d = gi.dims is not None and len(gi.dims) == 1
        if one_d and isinstance(value, int) and not isinstance(value, bool):
            # `x=8` for a 1-D input has always meant the shape (8,)
            return _spec(gi, parse_input(f"{gi.name}={text}"))
        return Fill(gi.name, value, (), gi.dtype)
    return _spec(gi, parse_input(f"{gi.name}={text}"))


def _spec(gi: GraphInput, spec: InputSpec) -> InputSpec:
    """The declared dtype unless the text named one; the rank checked against the file."""
    if gi.dims is not None and len(spec.shape) != len(gi.dims):
        raise CfxError(
            f"--input {gi.name}: {len(spec.shape)} dims given, the file declares "
            f"{len(gi.dims)} ({gi.declared()})"
        )
    return spec


def _names_dtype(text: str) -> bool:
    """Whether a shape text names its dtype (`1x8:int64`), not just a range (`1x8:0..9`)."""
    dtype = text.partition(":")[2].partition(":")[0].strip()
    return bool(dtype) and ".." not in dtype


@dataclass
class Resolved:
    """Every input's feed recipe, and which free dims nothing set (fed as 1)."""

    entries: list[InputSpec | Fill]
    defaulted: list[str]

    def describe(self) -> list[str]:
        out = []
        for e in self.entries:
            if isinstance(e, Fill):
                shape = "x".join(map(str, e.shape)) or "scalar"
                out.append(f"{e.name} = {e.value} ({shape} {e.dtype})")
            else:
                out.append(e.describe())
        return out


def resolve(inputs: list[GraphInput], plan: FeedPlan) -> Resolved:
    """Apply `plan` to the declared inputs; an unknown input or symbol is one clear error."""
    names = {gi.name for gi in inputs}
    for name in plan.inputs:
        if name not in names:
            raise CfxError(
                f"--input {name}: the file has no input {name!r} "
                f"(inputs: {', '.join(sorted(names)) or 'none'})"
            )
    symbols = {s for gi in inputs for s in gi.symbols}
    for sym in plan.dims:
        if sym not in symbols:
            raise CfxError(
                f"--dim {sym}: no input has a dim named {sym!r} "
                f"(symbolic dims: {', '.join(sorted(symbols)) or 'none'})"
            )
    entries: list[InputSpec | Fill] = []
    defaulted: list[str] = []
    for gi in inputs:
        if gi.kind != "tensor" or gi.dtype.startswith("elem_type"):
            raise CfxError(f"input {gi.name!r} is {gi.declared()}: cfexplore can only feed tensors")
        shape: list[int] = []
        free: list[str] = []
        for i, d in enumerate(gi.dims or ()):
            if isinstance(d, int):
                shape.append(d)
            elif isinstance(d, str) and d in plan.dims:
                shape.append(plan.dims[d])
            else:
                shape.append(FREE_DIM)
                free.append(d if isinstance(d, str) else f"{gi.name}[{i}]")
        text = plan.inputs.get(gi.name)
        if text is None:
            entries.append(InputSpec(gi.name, tuple(shape), gi.dtype))
            defaulted += [f for f in free if f not in defaulted]
            continue
        entry = _entry(gi, text)
        if isinstance(entry, Fill):
            entry = Fill(gi.name, entry.value, tuple(shape), gi.dtype)
            defaulted += [f for f in free if f not in defaulted]
        elif not _names_dtype(text):
            entry = InputSpec(gi.name, entry.shape, gi.dtype, entry.low, entry.high)
        entries.append(entry)
    return Resolved(entries, defaulted)


def make_feeds(resolved: Resolved, seed: int) -> dict[str, np.ndarray]:
    """Seeded arrays for the specs, constants for the fills, in the graph's input order."""
    from cfexplore.target.inputs import make_inputs

    specs = [e for e in resolved.entries if isinstance(e, InputSpec)]
    seeded = make_inputs(specs, seed)
    out: dict[str, np.ndarray] = {}
    for e in resolved.entries:
        if isinstance(e, Fill):
            out[e.name] = np.full(e.shape, e.value, dtype=e.dtype)
        else:
            out[e.name] = seeded[e.name]
    return out
