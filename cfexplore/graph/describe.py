"""Small facts about ONNX protos: control-flow ops, graph attributes, outer reads,
and the short texts (node summaries, attribute values, paths, counts) every view shows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import onnx
from onnx import AttributeProto, GraphProto, NodeProto, TensorProto

from cfexplore.graph.values import (
    CONTROL_FLOW_OPS,
    STANDARD_DOMAINS,
    ItemPath,
    dtype_name,
    type_text,
    value_from_tensor,
)
from cfexplore.termtext import safe_tail, safe_text

_MAX_SUMMARY_NAMES = 3
_MAX_NAME_CHARS = 28
_MAX_LIST_ITEMS = 8
_MAX_STRING_CHARS = 60
_SMALL_TENSOR = 8


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


def has_graph_attribute(node: NodeProto) -> bool:
    return any(
        a.type == AttributeProto.GRAPH or len(a.graphs) > 0 or (a.type == 0 and a.HasField("g"))
        for a in node.attribute
    )


def function_id(domain: str, name: str, overload: str = "") -> str:
    """Display name of a local function, e.g. `pkg.torch.cond_true_0`."""
    qual = f"{domain}.{name}" if domain else name
    return f"{qual}:{overload}" if overload else qual


def undefined_reads(
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
    return undefined_reads(graph.node, defined, (vi.name for vi in graph.output))


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
    text = "tensor " + value_from_tensor("", t).type_str()
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
    return f"graph ({plural(len(g.node), 'node')})"


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
        return f"type {type_text(a.tp)}"
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
        return _short_list([type_text(v) for v in a.type_protos])
    return "?"


def node_attribute(a: AttributeProto) -> str:
    """`format_attribute`, naming the element type for dtype-valued ints (Cast `to`)."""
    text = format_attribute(a)
    if a.name in ("to", "dtype") and a.type == AttributeProto.INT and not a.ref_attr_name:
        name = dtype_name(a.i)
        if name:
            text += f" ({name})"
    return text


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def path_to_str(path: ItemPath) -> str:
    """`(3, "then_branch", 0)` -> `3/then_branch/0` (the root is `/`)."""
    return "/".join(str(p) for p in path) or "/"


def path_from_str(text: str) -> ItemPath:
    """Inverse of `path_to_str`."""
    return tuple(int(p) if p.isdigit() else p for p in text.strip("/").split("/") if p)


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(CONTROL_FLOW_OPS, 0)


def add_counts(into: dict[str, int], other: dict[str, int]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0) + v
