"""Value types and name scopes of ONNX graphs: what a name holds, looked up lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import onnx
from onnx import FunctionProto, GraphProto, TensorProto, TypeProto

from cfexplore.termtext import safe_text

CONTROL_FLOW_OPS: tuple[str, ...] = ("If", "Loop", "Scan", "SequenceMap")
"""ONNX ops that carry subgraphs and so keep Python control flow alive after export."""

FUNCTION_STEP = "@function"
"""Path step for an inlined local-function body (never a valid attribute name)."""


STANDARD_DOMAINS = ("", "ai.onnx")

ItemPath = tuple[int | str, ...]
ItemKind = Literal["graph", "node", "subgraph", "function"]
FunctionKey = tuple[str, str, str]


_DTYPE_NAMES: dict[int, str] = {
    TensorProto.FLOAT: "float32",
    TensorProto.DOUBLE: "float64",
    TensorProto.FLOAT16: "float16",
    TensorProto.BFLOAT16: "bfloat16",
    TensorProto.COMPLEX64: "complex64",
    TensorProto.COMPLEX128: "complex128",
}


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class ValueInfo:
    """A value name with its (possibly unknown) element type and shape.

    `dtype` is a tensor element type such as `float32`; for non-tensor values it is the whole
    type (e.g. `seq(float32[N])`) and `shape` is None. Shape dims are ints, symbolic names,
    or None when unknown.
    """

    name: str
    dtype: str | None = None
    shape: tuple[int | str | None, ...] | None = None

    def type_str(self) -> str:
        """The type alone, e.g. `float32[1,3,8,8]`, or `?` when nothing is known."""
        if self.dtype is None and self.shape is None:
            return "?"
        base = self.dtype or "?"
        if self.shape is None:
            return base
        return f"{base}[{','.join(_dim_str(d) for d in self.shape)}]"

    def describe(self) -> str:
        """`name: type`, e.g. `x: float32[1,3,8,8]` or `y: ?`."""
        return f"{self.name or '∅'}: {self.type_str()}"


def _dim_str(dim: int | str | None) -> str:
    return "?" if dim is None else str(dim)


def safe_value(v: ValueInfo) -> ValueInfo:
    """`v` with its name and symbolic dims escaped for a terminal."""
    shape = v.shape
    if shape is not None and any(isinstance(d, str) for d in shape):
        shape = tuple(safe_text(d) if isinstance(d, str) else d for d in shape)
    return ValueInfo(safe_text(v.name), None if v.dtype is None else safe_text(v.dtype), shape)


def dtype_name(elem_type: int) -> str | None:
    """Short numpy-like name of a TensorProto element type (None when undefined)."""
    if elem_type == TensorProto.UNDEFINED:
        return None
    if elem_type in _DTYPE_NAMES:
        return _DTYPE_NAMES[elem_type]
    try:
        return str(TensorProto.DataType.Name(elem_type)).lower()
    except ValueError:
        return f"dtype({elem_type})"


Shape = tuple[int | str | None, ...]
"""Dims of a declared shape: a size, a symbol, or None (unknown)."""


def _shape_of(tensor_type: TypeProto.Tensor | TypeProto.SparseTensor) -> Shape | None:
    if not tensor_type.HasField("shape"):
        return None
    dims: list[int | str | None] = []
    for d in tensor_type.shape.dim:
        which = d.WhichOneof("value")
        if which == "dim_value":
            dims.append(int(d.dim_value))
        elif which == "dim_param":
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return tuple(dims)


def _type_parts(tp: TypeProto) -> tuple[str | None, Shape | None]:
    """(dtype, shape) of a TypeProto; non-tensor types fold into the dtype string."""
    which = tp.WhichOneof("value")
    if which == "tensor_type":
        return dtype_name(tp.tensor_type.elem_type), _shape_of(tp.tensor_type)
    if which == "sparse_tensor_type":
        dt = dtype_name(tp.sparse_tensor_type.elem_type) or "?"
        return f"sparse {dt}", _shape_of(tp.sparse_tensor_type)
    if which == "sequence_type":
        return f"seq({type_text(tp.sequence_type.elem_type)})", None
    if which == "optional_type":
        return f"optional({type_text(tp.optional_type.elem_type)})", None
    if which == "map_type":
        key = dtype_name(tp.map_type.key_type) or "?"
        return f"map({key}, {type_text(tp.map_type.value_type)})", None
    return None, None


def type_text(tp: TypeProto) -> str:
    dtype, shape = _type_parts(tp)
    return ValueInfo("", dtype, shape).type_str()


def value_from_type(name: str, tp: TypeProto | None) -> ValueInfo:
    if tp is None:
        return ValueInfo(name)
    dtype, shape = _type_parts(tp)
    return ValueInfo(name, dtype, shape)


def value_from_tensor(name: str, t: TensorProto) -> ValueInfo:
    return ValueInfo(name, dtype_name(t.data_type), tuple(int(d) for d in t.dims))


# --------------------------------------------------------------------------- scopes


ScopeEntry = TypeProto | TensorProto | ValueInfo


class Scope:
    """Types of the values visible in one graph; lookups fall back to enclosing scopes.

    The table is built on the first lookup so that opening a big model stays cheap.
    """

    def __init__(
        self,
        parent: Scope | None,
        graph: GraphProto | None = None,
        function: FunctionProto | None = None,
        bindings: dict[str, ScopeEntry] | None = None,
        extra: Callable[[], Iterable[onnx.ValueInfoProto]] | None = None,
    ) -> None:
        self.parent = parent
        self._graph = graph
        self._function = function
        self._bindings = bindings or {}
        self._extra = extra
        self._table: dict[str, ScopeEntry] | None = None

    def _build(self) -> dict[str, ScopeEntry]:
        table: dict[str, ScopeEntry] = {}

        def put(name: str, entry: ScopeEntry, typed: bool) -> None:
            if name and (typed or name not in table):
                table[name] = entry

        g = self._graph
        if g is not None:
            for t in g.initializer:
                put(t.name, t, True)
            for st in g.sparse_initializer:
                dt = dtype_name(st.values.data_type) or "?"
                put(st.values.name, ValueInfo("", f"sparse {dt}", tuple(st.dims)), True)
            for vi in (*g.value_info, *g.output, *g.input):
                put(vi.name, vi.type, vi.HasField("type"))
        f = self._function
        if f is not None:
            for vi in f.value_info:
                put(vi.name, vi.type, vi.HasField("type"))
        for name, entry in self._bindings.items():
            put(name, entry, not isinstance(entry, ValueInfo) or entry.type_str() != "?")
        if self._extra is not None:
            for vi in self._extra():
                put(vi.name, vi.type, vi.HasField("type"))
        return table

    def local(self, name: str) -> ScopeEntry | None:
        if self._table is None:
            self._table = self._build()
        return self._table.get(name)

    def entry(self, name: str) -> ScopeEntry | None:
        """The raw type record for `name` here or in an enclosing scope.

        The nearest record wins unless it lacks a shape and an outer one has it (an inlined
        function's subgraph outputs are declared shapeless but inferred for the call).
        """
        first: ScopeEntry | None = None
        scope: Scope | None = self
        while scope is not None and name:
            found = scope.local(name)
            if found is not None:
                if entry_value(name, found).shape is not None:
                    return found
                first = first if first is not None else found
            scope = scope.parent
        return first

    def lookup(self, name: str) -> ValueInfo:
        """Type info for `name`, searching this scope and then the enclosing ones."""
        return entry_value(name, self.entry(name))


def entry_value(name: str, entry: ScopeEntry | None) -> ValueInfo:
    if isinstance(entry, ValueInfo):
        return ValueInfo(name, entry.dtype, entry.shape)
    if isinstance(entry, TensorProto):
        return value_from_tensor(name, entry)
    if isinstance(entry, TypeProto):
        return value_from_type(name, entry)
    return ValueInfo(name)


def entry_type(entry: ScopeEntry | None) -> TypeProto | None:
    """A TypeProto for a scope record, when one can be had."""
    if isinstance(entry, TypeProto):
        return entry
    if isinstance(entry, TensorProto):
        return onnx.helper.make_tensor_type_proto(entry.data_type, list(entry.dims))
    return None
