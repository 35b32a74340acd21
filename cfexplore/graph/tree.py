"""A UI-free model of any `.onnx` file as a lazily expanded tree.

The tree is graph -> nodes -> graph attributes (`then_branch`, `else_branch`, `body`,
`name[i]` for GRAPHS lists) -> nodes, to any depth. Nodes that call a model-local function
get that function's body inlined beneath them, so a user never meets an opaque call.
Items are built only when asked for (`children(start, stop)`), so a UI can page through a
100k-node graph without paying for the parts it never shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import onnx
from onnx import AttributeProto, FunctionProto, GraphProto, NodeProto, TensorProto, TypeProto
from rich.text import Text

from cfexplore.graph.budget import MAX_CALL_DEPTH, Footprint, footprint
from cfexplore.graph.safeload import (
    DEFAULT_MAX_BYTES,
    iter_graphs,
    load_model_safely,
    model_warnings,
    unknown_op_note,
)
from cfexplore.graph.safeload import (
    GraphError as GraphError,  # re-exported: `from cfexplore.graph.tree import GraphError`
)
from cfexplore.graph.typeinfer import (
    BODY_INFER_MAX_NODES,
    InferredTypes,
    decide,
    small_enough,
)
from cfexplore.termtext import one_line, safe_tail, safe_text

CONTROL_FLOW_OPS: tuple[str, ...] = ("If", "Loop", "Scan", "SequenceMap")
"""ONNX ops that carry subgraphs and so keep Python control flow alive after export."""

FUNCTION_STEP = "@function"
"""Path step for an inlined local-function body (never a valid attribute name)."""

STANDARD_DOMAINS = ("", "ai.onnx")
CF_STYLE = "bold magenta"
CF_MARKER = "◆ "
FUNCTION_MARKER = "ƒ "

ItemPath = tuple[int | str, ...]
ItemKind = Literal["graph", "node", "subgraph", "function"]
FunctionKey = tuple[str, str, str]

_MAX_SUMMARY_NAMES = 3
_MAX_NAME_CHARS = 28
_MAX_LIST_ITEMS = 8
_MAX_STRING_CHARS = 60
_MAX_LABEL_NAME = 80
"""Characters of a node or graph name shown in a tree label (the detail pane has it all)."""
_MAX_LABEL_OP = 40
_SMALL_TENSOR = 8

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


def _safe_value(v: ValueInfo) -> ValueInfo:
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
        return f"seq({_type_text(tp.sequence_type.elem_type)})", None
    if which == "optional_type":
        return f"optional({_type_text(tp.optional_type.elem_type)})", None
    if which == "map_type":
        key = dtype_name(tp.map_type.key_type) or "?"
        return f"map({key}, {_type_text(tp.map_type.value_type)})", None
    return None, None


def _type_text(tp: TypeProto) -> str:
    dtype, shape = _type_parts(tp)
    return ValueInfo("", dtype, shape).type_str()


def _value_from_type(name: str, tp: TypeProto | None) -> ValueInfo:
    if tp is None:
        return ValueInfo(name)
    dtype, shape = _type_parts(tp)
    return ValueInfo(name, dtype, shape)


def _value_from_tensor(name: str, t: TensorProto) -> ValueInfo:
    return ValueInfo(name, dtype_name(t.data_type), tuple(int(d) for d in t.dims))


# --------------------------------------------------------------------------- scopes


_ScopeEntry = TypeProto | TensorProto | ValueInfo


class _Scope:
    """Types of the values visible in one graph; lookups fall back to enclosing scopes.

    The table is built on the first lookup so that opening a big model stays cheap.
    """

    def __init__(
        self,
        parent: _Scope | None,
        graph: GraphProto | None = None,
        function: FunctionProto | None = None,
        bindings: dict[str, _ScopeEntry] | None = None,
        extra: Callable[[], Iterable[onnx.ValueInfoProto]] | None = None,
    ) -> None:
        self.parent = parent
        self._graph = graph
        self._function = function
        self._bindings = bindings or {}
        self._extra = extra
        self._table: dict[str, _ScopeEntry] | None = None

    def _build(self) -> dict[str, _ScopeEntry]:
        table: dict[str, _ScopeEntry] = {}

        def put(name: str, entry: _ScopeEntry, typed: bool) -> None:
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

    def local(self, name: str) -> _ScopeEntry | None:
        if self._table is None:
            self._table = self._build()
        return self._table.get(name)

    def entry(self, name: str) -> _ScopeEntry | None:
        """The raw type record for `name` here or in an enclosing scope.

        The nearest record wins unless it lacks a shape and an outer one has it (an inlined
        function's subgraph outputs are declared shapeless but inferred for the call).
        """
        first: _ScopeEntry | None = None
        scope: _Scope | None = self
        while scope is not None and name:
            found = scope.local(name)
            if found is not None:
                if _entry_value(name, found).shape is not None:
                    return found
                first = first if first is not None else found
            scope = scope.parent
        return first

    def lookup(self, name: str) -> ValueInfo:
        """Type info for `name`, searching this scope and then the enclosing ones."""
        return _entry_value(name, self.entry(name))


def _entry_value(name: str, entry: _ScopeEntry | None) -> ValueInfo:
    if isinstance(entry, ValueInfo):
        return ValueInfo(name, entry.dtype, entry.shape)
    if isinstance(entry, TensorProto):
        return _value_from_tensor(name, entry)
    if isinstance(entry, TypeProto):
        return _value_from_type(name, entry)
    return ValueInfo(name)


def _entry_type(entry: _ScopeEntry | None) -> TypeProto | None:
    """A TypeProto for a scope record, when one can be had."""
    if isinstance(entry, TypeProto):
        return entry
    if isinstance(entry, TensorProto):
        return onnx.helper.make_tensor_type_proto(entry.data_type, list(entry.dims))
    return None


# --------------------------------------------------------------------------- proto helpers


def is_control_flow(node: NodeProto) -> bool:
    """True for standard-domain If/Loop/Scan/SequenceMap nodes."""
    return node.op_type in CONTROL_FLOW_OPS and node.domain in STANDARD_DOMAINS


def graph_attributes(node: NodeProto) -> list[tuple[str, GraphProto]]:
    """(path key, graph) per graph-valued attribute, lists as `name[i]`.

    Attribute order is kept, except that `then_branch` always precedes `else_branch`
    (`onnx.helper.make_node` sorts attributes by name, which would put `else` first).
    """
    out: list[tuple[str, GraphProto]] = []
    for a in node.attribute:
        if a.type == AttributeProto.GRAPH or (a.type == 0 and a.HasField("g")):
            out.append((a.name, a.g))
        elif a.type == AttributeProto.GRAPHS or (a.type == 0 and len(a.graphs)):
            out.extend((f"{a.name}[{i}]", g) for i, g in enumerate(a.graphs))
    keys = [k for k, _ in out]
    if "then_branch" in keys and "else_branch" in keys:
        t, e = keys.index("then_branch"), keys.index("else_branch")
        if e < t:
            out[t], out[e] = out[e], out[t]
    return out


def _has_graph_attribute(node: NodeProto) -> bool:
    return any(
        a.type == AttributeProto.GRAPH or len(a.graphs) > 0 or (a.type == 0 and a.HasField("g"))
        for a in node.attribute
    )


def function_id(domain: str, name: str, overload: str = "") -> str:
    """Display name of a local function, e.g. `pkg.torch.cond_true_0`."""
    qual = f"{domain}.{name}" if domain else name
    return f"{qual}:{overload}" if overload else qual


def _undefined_reads(
    nodes: Sequence[NodeProto], defined: set[str], outputs: Iterable[str]
) -> list[str]:
    """Names read by `nodes` (and nested subgraphs) or returned, that are not in `defined`."""
    defined = set(defined)
    for n in nodes:
        defined.update(o for o in n.output if o)
    reads: dict[str, None] = {}
    for n in nodes:
        for name in n.input:
            if name and name not in defined:
                reads[name] = None
        for _, g in graph_attributes(n):
            for name in graph_outer_reads(g):
                if name not in defined:
                    reads[name] = None
    for name in outputs:
        if name and name not in defined:
            reads[name] = None
    return list(reads)


def graph_outer_reads(graph: GraphProto) -> list[str]:
    """Names a (sub)graph uses but does not define itself: reads from the enclosing scope."""
    defined = {vi.name for vi in graph.input}
    defined.update(t.name for t in graph.initializer)
    defined.update(st.values.name for st in graph.sparse_initializer)
    return _undefined_reads(graph.node, defined, (vi.name for vi in graph.output))


def _short_name(name: str, limit: int = _MAX_NAME_CHARS) -> str:
    """`name` escaped for a terminal, keeping its (most telling) end when too long."""
    return safe_tail(name, limit)


def _name_list(names: Sequence[str]) -> str:
    names = list(names)
    while names and not names[-1]:
        names.pop()  # trailing omitted optional inputs carry no information
    shown = [_short_name(n) if n else "∅" for n in names[:_MAX_SUMMARY_NAMES]]
    if len(names) > _MAX_SUMMARY_NAMES:
        shown.append(f"… +{len(names) - _MAX_SUMMARY_NAMES}")
    return ", ".join(shown)


def node_summary(node: NodeProto) -> str:
    """Compact `a, b -> c` line; long lists and names are shortened with `…`."""
    ins = _name_list(node.input)
    return f"{ins} -> {_name_list(node.output)}" if ins else f"-> {_name_list(node.output)}"


def _truncate(s: str, limit: int = _MAX_STRING_CHARS) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _short_list(values: Sequence[str]) -> str:
    shown = list(values[:_MAX_LIST_ITEMS])
    if len(values) > _MAX_LIST_ITEMS:
        shown.append(f"… ({len(values)} total)")
    return "[" + ", ".join(shown) + "]"


def _fmt_float(v: float) -> str:
    return f"{v:.6g}"


def _fmt_string(b: bytes) -> str:
    return safe_text(repr(_truncate(b.decode("utf-8", errors="replace"))))


def describe_tensor(t: TensorProto) -> str:
    """`tensor float32[64,3,3,3]`, with the values when the tensor is tiny."""
    text = "tensor " + _value_from_tensor("", t).type_str()
    if t.data_location == TensorProto.EXTERNAL:
        return text + " (external)"
    size = 1
    for d in t.dims:
        size *= int(d)
    if size <= _SMALL_TENSOR:
        try:
            arr = onnx.numpy_helper.to_array(t)
            vals = arr.reshape(-1).tolist()
            shown = [_fmt_float(v) if isinstance(v, float) else repr(v) for v in vals]
            text += " = " + (shown[0] if arr.ndim == 0 and shown else "[" + ", ".join(shown) + "]")
        except Exception:  # odd dtypes or malformed data: the type alone is enough
            pass
    return text


def _graph_count_text(g: GraphProto) -> str:
    return f"graph ({_plural(len(g.node), 'node')})"


def format_attribute(a: AttributeProto) -> str:
    """A short readable value for a node attribute."""
    if a.ref_attr_name:
        return f"@{a.ref_attr_name}"
    t = a.type
    if t == 0:  # very old models leave the type unset: guess from the populated field
        for kind, fld in (
            (AttributeProto.GRAPH, "g"),
            (AttributeProto.TENSOR, "t"),
            (AttributeProto.STRING, "s"),
            (AttributeProto.FLOAT, "f"),
            (AttributeProto.INT, "i"),
        ):
            if a.HasField(fld):
                t = kind
                break
        else:
            for kind, lst in (
                (AttributeProto.INTS, a.ints),
                (AttributeProto.FLOATS, a.floats),
                (AttributeProto.STRINGS, a.strings),
                (AttributeProto.GRAPHS, a.graphs),
                (AttributeProto.TENSORS, a.tensors),
            ):
                if len(lst):
                    t = kind
                    break
    if t == AttributeProto.INT:
        return str(a.i)
    if t == AttributeProto.FLOAT:
        return _fmt_float(a.f)
    if t == AttributeProto.STRING:
        return _fmt_string(a.s)
    if t == AttributeProto.TENSOR:
        return describe_tensor(a.t)
    if t == AttributeProto.GRAPH:
        return _graph_count_text(a.g)
    if t == AttributeProto.SPARSE_TENSOR:
        return "sparse " + describe_tensor(a.sparse_tensor.values)
    if t == AttributeProto.TYPE_PROTO:
        return f"type {_type_text(a.tp)}"
    if t == AttributeProto.INTS:
        return _short_list([str(v) for v in a.ints])
    if t == AttributeProto.FLOATS:
        return _short_list([_fmt_float(v) for v in a.floats])
    if t == AttributeProto.STRINGS:
        return _short_list([_fmt_string(v) for v in a.strings])
    if t == AttributeProto.TENSORS:
        return _short_list([describe_tensor(v) for v in a.tensors])
    if t == AttributeProto.GRAPHS:
        return _short_list([_graph_count_text(g) for g in a.graphs])
    if t == AttributeProto.SPARSE_TENSORS:
        return _short_list(["sparse " + describe_tensor(v.values) for v in a.sparse_tensors])
    if t == AttributeProto.TYPE_PROTOS:
        return _short_list([_type_text(v) for v in a.type_protos])
    return "?"


def _node_attribute(a: AttributeProto) -> str:
    """`format_attribute`, naming the element type for dtype-valued ints (Cast `to`)."""
    text = format_attribute(a)
    if a.name in ("to", "dtype") and a.type == AttributeProto.INT and not a.ref_attr_name:
        name = dtype_name(a.i)
        if name:
            text += f" ({name})"
    return text


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def path_to_str(path: ItemPath) -> str:
    """`(3, "then_branch", 0)` -> `3/then_branch/0` (the root is `/`)."""
    return "/".join(str(p) for p in path) or "/"


def path_from_str(text: str) -> ItemPath:
    """Inverse of `path_to_str`."""
    return tuple(int(p) if p.isdigit() else p for p in text.strip("/").split("/") if p)


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(CONTROL_FLOW_OPS, 0)


def _add_counts(into: dict[str, int], other: dict[str, int]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0) + v


# --------------------------------------------------------------------------- items


@dataclass
class NodeDetail:
    """Everything a detail pane shows about one node."""

    op_type: str
    domain: str
    name: str
    """The node's name, or `op_type#index` when it has none."""
    path: str
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    attributes: list[tuple[str, str]]
    outer_scope_reads: list[str] = field(default_factory=list)
    function: str | None = None
    doc_string: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Problems with this node (`unknown op …`), one line each."""


class GraphItem:
    """The main graph, a graph attribute of a node (`subgraph`), or an inlined `function` body."""

    def __init__(
        self,
        tree: OnnxTree,
        path: ItemPath,
        *,
        kind: ItemKind,
        scope: _Scope,
        graph: GraphProto | None = None,
        function: FunctionProto | None = None,
        attr_name: str | None = None,
        parent: NodeItem | None = None,
        call_stack: tuple[FunctionKey, ...] = (),
    ) -> None:
        tree.items_created += 1
        self.tree = tree
        self.path = path
        self.kind: ItemKind = kind
        self.graph = graph
        self.function = function
        self.attr_name = attr_name
        self.parent = parent
        self.scope = scope
        self.call_stack = call_stack
        """Local functions being inlined around this graph (guards recursive calls)."""
        src = graph if graph is not None else function
        assert src is not None, "a GraphItem needs a graph or a function"
        self._nodes: Sequence[NodeProto] = src.node
        self._total: dict[str, int] | None = None
        self._counts: dict[str, int] | None = None
        self._outer: list[str] | None = None

    def __repr__(self) -> str:
        return f"<GraphItem {self.kind} {path_to_str(self.path)} {self.name!r}>"

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def name(self) -> str:
        """The graph's or function's own name."""
        src = self.graph if self.graph is not None else self.function
        return src.name if src is not None else ""

    @property
    def function_name(self) -> str | None:
        """Qualified name for a function body (`domain.name`), else None."""
        f = self.function
        return None if f is None else function_id(f.domain, f.name, f.overload)

    @property
    def node_count(self) -> int:
        return len(self._nodes)

    @property
    def has_children(self) -> bool:
        return len(self._nodes) > 0

    @property
    def child_count(self) -> int:
        return len(self._nodes)

    def children(self, start: int = 0, stop: int | None = None) -> Iterator[NodeItem]:
        """Node items `start:stop`, built on demand (and cached by the tree)."""
        n = len(self._nodes)
        stop = n if stop is None else min(stop, n)
        for i in range(max(start, 0), stop):
            yield self.child(i)

    def child(self, index: int) -> NodeItem:
        """The node item at `index` in this graph."""
        if not 0 <= index < len(self._nodes):
            raise KeyError(f"no node {index} in {path_to_str(self.path)}")
        path = (*self.path, index)
        item = self.tree._items.get(path)
        if item is None:
            item = NodeItem(self.tree, path, self._nodes[index], index, self)
            self.tree._items[path] = item
        return item  # type: ignore[return-value]

    @property
    def counts(self) -> dict[str, int]:
        """Control-flow ops directly in this graph (not in nested graphs)."""
        if self._counts is None:
            self._counts = _empty_counts()
            for n in self._nodes:
                if is_control_flow(n):
                    self._counts[n.op_type] += 1
        return dict(self._counts)

    @property
    def total_counts(self) -> dict[str, int]:
        """Control-flow ops in this graph, its subgraphs and inlined functions (cached)."""
        if self._total is None:
            self._total = self.tree._count_nodes(self._nodes, self.call_stack)
        return dict(self._total)

    @cached_property
    def inputs(self) -> list[ValueInfo]:
        if self.graph is not None:
            return [self.scope.lookup(vi.name) for vi in self.graph.input]
        assert self.function is not None
        return [self.scope.lookup(n) for n in self.function.input]

    @cached_property
    def outputs(self) -> list[ValueInfo]:
        if self.graph is not None:
            return [self.scope.lookup(vi.name) for vi in self.graph.output]
        assert self.function is not None
        return [self.scope.lookup(n) for n in self.function.output]

    @property
    def outer_scope_reads(self) -> list[str]:
        """Names used here (or in nested subgraphs) but defined in an enclosing graph."""
        if self._outer is None:
            if self.kind == "graph":
                self._outer = []
            elif self.graph is not None:
                self._outer = graph_outer_reads(self.graph)
            else:
                assert self.function is not None
                self._outer = _undefined_reads(
                    self.function.node, set(self.function.input), self.function.output
                )
        return list(self._outer)

    def label(self) -> Text:
        """`then_branch  (2 nodes)`; model-derived names escaped and shortened."""
        count = Text(f"  ({_plural(self.node_count, 'node')})", style="dim")
        if self.kind == "function":
            name = safe_text(self.function_name or "", _MAX_LABEL_NAME)
            return Text.assemble(("function ", "cyan"), (name, "bold cyan"), count)
        if self.kind == "subgraph":
            return Text.assemble(
                (safe_text(self.attr_name or "", _MAX_LABEL_NAME), "bold yellow"), count
            )
        return Text.assemble((safe_text(self.name, _MAX_LABEL_NAME) or "main graph", "bold"), count)


class NodeItem:
    """One node; its children are its graph attributes and any inlined local function."""

    kind: ItemKind = "node"

    def __init__(
        self, tree: OnnxTree, path: ItemPath, proto: NodeProto, index: int, parent: GraphItem
    ) -> None:
        tree.items_created += 1
        self.tree = tree
        self.path = path
        self.proto = proto
        self.index = index
        self.parent = parent
        self._keys: list[str] | None = None
        self._fkey: FunctionKey | None = None
        self._fkey_resolved = False

    def __repr__(self) -> str:
        return f"<NodeItem {path_to_str(self.path)} {self.op_type} {self.display_name!r}>"

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def domain(self) -> str:
        return self.proto.domain

    @property
    def name(self) -> str:
        """The node's own name (may be empty; see `display_name`)."""
        return self.proto.name

    @property
    def display_name(self) -> str:
        return self.proto.name or f"{self.proto.op_type}#{self.index}"

    @property
    def is_control_flow(self) -> bool:
        return is_control_flow(self.proto)

    @property
    def function_key(self) -> FunctionKey | None:
        """(domain, name, overload) of the local function this node calls, if any."""
        if not self._fkey_resolved:
            self._fkey = self.tree._function_key(self.proto)
            self._fkey_resolved = True
        return self._fkey

    @property
    def function_name(self) -> str | None:
        key = self.function_key
        return None if key is None else function_id(*key)

    @property
    def is_recursive_call(self) -> bool:
        """Calls a function already being inlined above it (its body is not inlined again)."""
        key = self.function_key
        return key is not None and key in self.parent.call_stack

    @property
    def is_too_deep_call(self) -> bool:
        """Calls a function `MAX_CALL_DEPTH` calls deep: shown as a call, not inlined (a
        hostile 1,000-deep chain would otherwise nest the tree 1,000 levels)."""
        return self.function_key is not None and len(self.parent.call_stack) >= MAX_CALL_DEPTH

    @property
    def inlines_body(self) -> bool:
        """Whether the tree shows the called function's body under this node."""
        return (
            self.function_key is not None
            and not self.is_recursive_call
            and not self.is_too_deep_call
        )

    @property
    def summary(self) -> str:
        return node_summary(self.proto)

    def _child_keys(self) -> list[str]:
        if self._keys is None:
            keys = [k for k, _ in graph_attributes(self.proto)]
            if self.inlines_body:
                keys.append(FUNCTION_STEP)
            self._keys = keys
        return self._keys

    @property
    def has_children(self) -> bool:
        if self._keys is not None:
            return bool(self._keys)
        if _has_graph_attribute(self.proto):
            return True
        return self.inlines_body

    @property
    def child_count(self) -> int:
        return len(self._child_keys())

    def children(self, start: int = 0, stop: int | None = None) -> Iterator[GraphItem]:
        """Subgraph items in attribute order, then the inlined function body (if any)."""
        for key in self._child_keys()[start:stop]:
            yield self.child(key)

    def child(self, key: str) -> GraphItem:
        """The graph item for a path step (`then_branch`, `branches[1]`, `@function`)."""
        path = (*self.path, key)
        item = self.tree._items.get(path)
        if item is not None:
            return item  # type: ignore[return-value]
        if key not in self._child_keys():
            raise KeyError(f"no graph {key!r} under {path_to_str(self.path)}")
        if key == FUNCTION_STEP:
            fkey = self.function_key
            assert fkey is not None
            fn = self.tree._functions[fkey]
            scope = self._call_scope(fn)
            item = GraphItem(
                self.tree,
                path,
                kind="function",
                scope=scope,
                function=fn,
                parent=self,
                call_stack=(*self.parent.call_stack, fkey),
            )
        else:
            graph = dict(graph_attributes(self.proto))[key]
            item = GraphItem(
                self.tree,
                path,
                kind="subgraph",
                scope=_Scope(self.parent.scope, graph=graph),
                graph=graph,
                attr_name=key,
                parent=self,
                call_stack=self.parent.call_stack,
            )
        self.tree._items[path] = item
        return item

    def _call_scope(self, fn: FunctionProto) -> _Scope:
        """Scope for an inlined body: formal parameters typed from the call's arguments.

        Functions carry no value_info of their own, so the body's intermediate types are
        inferred on first lookup from the argument types at this call.
        """
        caller = self.parent.scope
        bindings: dict[str, _ScopeEntry] = {}
        for formal, actual in zip(fn.input, self.proto.input, strict=False):
            found = caller.entry(actual)
            if formal and found is not None:
                bindings[formal] = found
        for formal, actual in zip(fn.output, self.proto.output, strict=False):
            found = caller.entry(actual)
            if formal and found is not None:
                bindings[formal] = found
        tree = self.tree
        return _Scope(
            None,
            function=fn,
            bindings=bindings,
            extra=lambda: tree._infer_body_types(fn, bindings),
        )

    def label_parts(self) -> list[tuple[str, str]]:
        """The row label as (text, style) pieces, every piece already escaped."""
        parts: list[tuple[str, str]] = []
        if self.is_control_flow:
            parts.append((CF_MARKER, CF_STYLE))
            op_style = CF_STYLE
        elif self.function_key is not None:
            parts.append((FUNCTION_MARKER, "cyan"))
            op_style = "bold cyan"
        else:
            op_style = "bold"
        if self.domain not in STANDARD_DOMAINS:
            parts.append((f"{safe_text(self.domain, _MAX_LABEL_OP)}::", "dim"))
        parts.append((safe_text(self.op_type, _MAX_LABEL_OP), op_style))
        parts.append(("  ", ""))
        parts.append((safe_text(self.display_name, _MAX_LABEL_NAME), "dim"))
        parts.append(("  ", ""))
        parts.append((self.summary, ""))
        if self.is_recursive_call:
            parts.append(("  ↻ recursive call", "dim"))
        elif self.is_too_deep_call:
            parts.append((f"  ⋯ {MAX_CALL_DEPTH} calls deep: not inlined", "dim"))
        return parts

    def label(self) -> Text:
        text = Text()
        for piece, style in self.label_parts():
            text.append(piece, style=style)
        return text

    def plain_label(self) -> str:
        """`label()` without styles, built without rich (the headless tree prints 100k)."""
        return "".join(piece for piece, _ in self.label_parts())

    def detail(self) -> NodeDetail:
        """Types, attributes, outer-scope reads and metadata of this node."""
        scope = self.parent.scope
        outer: dict[str, None] = {}
        for key in self._child_keys():
            if key != FUNCTION_STEP:
                outer.update(dict.fromkeys(self.child(key).outer_scope_reads))
        p = self.proto
        notes: list[str] = []
        if self.function_key is None:
            note = unknown_op_note(p.op_type, p.domain)
            if note is not None:
                notes.append(note)
        # every string is escaped for a terminal here (full length), so any consumer is safe
        return NodeDetail(
            op_type=safe_text(p.op_type),
            domain=safe_text(p.domain),
            name=safe_text(self.display_name),
            path=path_to_str(self.path),
            inputs=[_safe_value(scope.lookup(n)) if n else ValueInfo("") for n in p.input],
            outputs=[_safe_value(scope.lookup(n)) if n else ValueInfo("") for n in p.output],
            attributes=[(safe_text(a.name), safe_text(_node_attribute(a))) for a in p.attribute],
            outer_scope_reads=[safe_text(n) for n in outer],
            function=None if self.function_name is None else safe_text(self.function_name),
            doc_string=safe_text(p.doc_string, multiline=True),
            metadata={
                safe_text(m.key): safe_text(m.value, multiline=True) for m in p.metadata_props
            },
            notes=notes,
        )


Item = GraphItem | NodeItem


# --------------------------------------------------------------------------- tree


def _has_elem_type(vi: onnx.ValueInfoProto) -> bool:
    """Whether a declared value has a type worth keeping (a tensor with an element type,
    or any non-tensor type)."""
    if not vi.HasField("type"):
        return False
    kind = vi.type.WhichOneof("value")
    return kind != "tensor_type" or vi.type.tensor_type.elem_type != 0


def _warning(what: str, exc: BaseException) -> str:
    """`<what>: <reason>` as one line of at most 160 characters (the reason is cut)."""
    return one_line(f"{what}: {one_line(str(exc)) or type(exc).__name__}")


_OVER_BUDGET = (
    "shapes not inferred, each function body audited once, calls deeper than "
    f"{MAX_CALL_DEPTH} not inlined"
)


class OnnxTree:
    """An ONNX model as a lazily expanded, function-inlining tree of graphs and nodes."""

    def __init__(self, model: onnx.ModelProto, *, path: str | None = None, infer: bool = True):
        self.path = path
        self.warnings: list[str] = []
        if infer:
            try:
                model = onnx.shape_inference.infer_shapes(model)
            except Exception as exc:  # inference is a bonus: browse without types
                self.warnings.append(_warning("shape inference failed", exc))
        self._infer = infer
        self.model = model
        """The model, with inferred `value_info` added when shape inference succeeded."""
        self.items_created = 0
        """How many items have been built so far (laziness is observable)."""
        self._items: dict[ItemPath, Item] = {}
        self._functions: dict[FunctionKey, FunctionProto] = {}
        self._functions_by_name: dict[tuple[str, str], FunctionKey] = {}
        for f in model.functions:
            key = (f.domain, f.name, f.overload)
            self._functions.setdefault(key, f)
            self._functions_by_name.setdefault((f.domain, f.name), key)
        self._function_counts: dict[FunctionKey, dict[str, int]] = {}
        self._footprint: Footprint | None = None
        self.types_deferred = False
        """Opened without the types it should have: they are inferred elsewhere (the app's
        file worker) and merged with `merge_types`."""
        self.root = GraphItem(
            self, (), kind="graph", scope=_Scope(None, graph=model.graph), graph=model.graph
        )
        self._items[()] = self.root

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        infer: bool | None = None,
        lint: bool = True,
        infer_here_max: int | None = None,
    ) -> OnnxTree:
        """Open an untrusted `.onnx` file or raise `GraphError` (one line, `details` in full).

        Goes through `load_model_safely` (regular files up to `max_bytes`, external-data
        references validated but not read: the tree needs only shapes and dtypes). A model
        that parses opens even when odd; its problems land in `warnings`.

        With `infer_here_max` (the app), shapes are inferred here only for a model of at
        most that many nodes and no local functions; a bigger one that should have types
        opens without them and `types_deferred` is set: infer in a worker and
        `merge_types`.
        """
        p = Path(path)
        notes: list[str] = []
        model = load_model_safely(p, max_bytes, warnings=notes)
        if lint:  # the app asks for them later, after the tree shows
            notes.extend(model_warnings(model))
        size = footprint(model)  # before anything expands the model's function calls
        if size.over:
            notes.append(f"the model {size.describe()}: {_OVER_BUDGET}")
        deferred = False
        if infer is None:
            infer, note = decide(model, size)
            if note:
                notes.append(note)
            if infer and infer_here_max is not None and not small_enough(model, infer_here_max):
                infer, deferred = False, True
        tree = cls(model, path=os.fspath(p), infer=infer)
        tree.warnings[:0] = notes
        tree._footprint = size
        tree.types_deferred = deferred
        return tree

    @classmethod
    def from_model(cls, model: onnx.ModelProto) -> OnnxTree:
        """Wrap an in-memory model (it is not modified)."""
        return cls(model)

    @property
    def footprint(self) -> Footprint:
        """The inlined tree's size, counted before anything expands it (`budget`)."""
        if self._footprint is None:
            self._footprint = footprint(self.model)
        return self._footprint

    def merge_types(self, inferred: InferredTypes) -> bool:
        """Add types inferred elsewhere (the app's file worker, `cfexplore.graph.typeinfer`) to
        this tree's graphs, and forget the types looked up so far. False (nothing merged)
        when the answer does not line up with this model's graphs (the file changed)."""
        graphs = [g for _, g in iter_graphs(self.model)]
        if not inferred.graphs or len(graphs) != len(inferred.graphs):
            return False
        parts = []
        for blob, g in zip(inferred.graphs, graphs, strict=True):
            part = GraphProto()
            try:
                part.ParseFromString(blob)
            except Exception:  # not what the worker should send: browse without types
                return False
            if [o.name for o in part.output] != [o.name for o in g.output]:
                return False
            parts.append(part)
        for part, g in zip(parts, graphs, strict=True):
            known = {vi.name for vi in g.value_info}
            g.value_info.extend([vi for vi in part.value_info if vi.name not in known])
            for out, found in zip(g.output, part.output, strict=True):
                if not _has_elem_type(out) and found.HasField("type"):
                    out.type.CopyFrom(found.type)
        self._infer = True  # function bodies may now be inferred as calls expand
        self.types_deferred = False
        for item in list(self._items.values()):
            for cached in ("inputs", "outputs"):
                item.__dict__.pop(cached, None)
            scope: _Scope | None = getattr(item, "scope", None)
            while scope is not None:
                scope._table = None
                scope = scope.parent
        return True

    # -- model facts

    @property
    def opset_imports(self) -> dict[str, int]:
        """Domain -> version; the default domain is `""`."""
        return {o.domain: int(o.version) for o in self.model.opset_import}

    @property
    def ir_version(self) -> int:
        return int(self.model.ir_version)

    @property
    def producer(self) -> str:
        """Producer name and version, e.g. `pytorch 2.13.0`."""
        return f"{self.model.producer_name} {self.model.producer_version}".strip()

    @property
    def total_counts(self) -> dict[str, int]:
        """Control-flow ops over the inlined tree (function bodies counted per call)."""
        return self.root.total_counts

    @property
    def function_names(self) -> list[str]:
        """Display names of the model-local functions."""
        return [function_id(*k) for k in self._functions]

    # -- navigation

    def node_by_path(self, path: Sequence[int | str]) -> Item:
        """Re-find an item by its `path` (raises KeyError when it does not exist)."""
        item: Item = self.root
        for step in path:
            if isinstance(item, GraphItem) and isinstance(step, int):
                item = item.child(step)
                continue
            if isinstance(item, NodeItem) and isinstance(step, str):
                item = item.child(step)
                continue
            raise KeyError(f"no item at {path_to_str(tuple(path))}")
        return item

    def iter_control_flow(self) -> Iterator[NodeItem]:
        """Control-flow nodes of the inlined tree, depth-first in display order (lazy)."""
        stack: list[tuple[ItemPath, Sequence[NodeProto], int, tuple[FunctionKey, ...]]] = [
            ((), self.model.graph.node, 0, ())
        ]
        while stack:
            gpath, nodes, i, calls = stack[-1]
            if i >= len(nodes):
                stack.pop()
                continue
            stack[-1] = (gpath, nodes, i + 1, calls)
            node = nodes[i]
            npath = (*gpath, i)
            if is_control_flow(node):
                found = self.node_by_path(npath)
                assert isinstance(found, NodeItem)
                yield found
            kids = [((*npath, k), g.node, 0, calls) for k, g in graph_attributes(node)]
            fkey = self._function_key(node)
            if fkey is not None and fkey not in calls and len(calls) < MAX_CALL_DEPTH:
                body = self._functions[fkey].node
                if any(self._function_total(fkey, calls).values()):  # else nothing to find
                    kids.append(((*npath, FUNCTION_STEP), body, 0, (*calls, fkey)))
            stack.extend(reversed(kids))

    def _function_total(self, fkey: FunctionKey, calls: tuple[FunctionKey, ...]) -> dict[str, int]:
        """Control-flow counts of one function's inlined body (memoised per function)."""
        memo = self._function_counts.get(fkey)
        if memo is None:
            memo = self._count_nodes(self._functions[fkey].node, (*calls, fkey))
            self._function_counts[fkey] = memo
        return memo

    # -- internals

    def _function_key(self, node: NodeProto) -> FunctionKey | None:
        if not self._functions:
            return None
        key = (node.domain, node.op_type, node.overload)
        if key in self._functions:
            return key
        if not node.overload:
            return self._functions_by_name.get((node.domain, node.op_type))
        return None

    def _infer_body_types(
        self, fn: FunctionProto, bindings: dict[str, _ScopeEntry]
    ) -> list[onnx.ValueInfoProto]:
        """value_info of a function body, inferred from the argument types of one call."""
        if not self._infer:
            return []
        try:
            helper = onnx.helper
            inputs = []
            for name in fn.input:
                tp = _entry_type(bindings.get(name))
                vi = onnx.ValueInfoProto(name=name)
                if tp is not None:
                    vi.type.CopyFrom(tp)
                inputs.append(vi)
            outputs = [onnx.ValueInfoProto(name=name) for name in fn.output]
            graph = helper.make_graph(list(fn.node), fn.name or "body", inputs, outputs)
            body = helper.make_model(
                graph,
                opset_imports=list(fn.opset_import) or list(self.model.opset_import),
                functions=list(self.model.functions),
                ir_version=self.model.ir_version or onnx.IR_VERSION,
            )
            if footprint(body).nodes > BODY_INFER_MAX_NODES:
                return []  # held the GIL too long where the UI waits: declared types
            inferred = onnx.shape_inference.infer_shapes(body)
        except Exception:  # attribute references, odd bodies: types stay unknown
            return []
        # Names are unique within the body, so nested subgraphs' types can live here too.
        found: list[onnx.ValueInfoProto] = []
        graphs = [inferred.graph]
        while graphs:
            g = graphs.pop()
            found.extend(g.value_info)
            found.extend(g.output)
            for n in g.node:
                graphs.extend(sub for _, sub in graph_attributes(n))
        return found

    def _count_nodes(
        self, nodes: Sequence[NodeProto], calls: tuple[FunctionKey, ...]
    ) -> dict[str, int]:
        out = _empty_counts()
        for n in nodes:
            if is_control_flow(n):
                out[n.op_type] += 1
            if n.attribute:
                for _, g in graph_attributes(n):
                    _add_counts(out, self._count_nodes(g.node, calls))
            fkey = self._function_key(n)
            if fkey is not None and fkey not in calls and len(calls) < MAX_CALL_DEPTH:
                _add_counts(out, self._function_total(fkey, calls))
        return out
