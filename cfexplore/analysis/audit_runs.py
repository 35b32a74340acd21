"""Unrolled loops: node signatures and back-to-back repeats of them (`find_runs`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from onnx import AttributeProto, GraphProto, NodeProto

from cfexplore.analysis.audit_scope import Frame
from cfexplore.graph.describe import graph_attributes

MAX_PERIOD = 8
"""Longest op sequence considered as one iteration of an unrolled loop."""
MIN_REPEATS = 3
"""Fewest back-to-back repeats flagged as an unrolled loop (two copies are too common)."""


def _attr_signature(node: NodeProto, a: AttributeProto) -> Hashable:
    """What must match between repeats: values, except a Constant's data (only its type).

    `x = x + i` in a Python loop leaves Constants that differ per iteration, while an
    optimised export turns the same constants into initializers (not attributes at all).
    """
    if node.op_type == "Constant":
        if a.type == AttributeProto.TENSOR:
            return ("tensor", a.t.data_type, tuple(a.t.dims))
        return ("constant", a.type, len(a.ints) + len(a.floats) + len(a.strings))
    if a.type == AttributeProto.GRAPH:
        return ("graph", _graph_signature(a.g))
    if a.type == AttributeProto.GRAPHS:
        return ("graphs", tuple(_graph_signature(g) for g in a.graphs))
    return bytes(a.SerializeToString(deterministic=True))


def _graph_signature(g: GraphProto, depth: int = 0) -> Hashable:
    if depth > 3:
        return len(g.node)
    return tuple(
        (n.op_type, tuple(_graph_signature(s, depth + 1) for _, s in graph_attributes(n)))
        for n in g.node
    )


def value_types(frame: Frame) -> Callable[[str], Hashable]:
    """Name -> hashable type key; a graph's own (inferred) types are read directly."""
    scope = frame.item.scope
    g = frame.item.graph
    if g is None:  # a function body: types are inferred per call by the tree's scope
        return lambda name: scope.lookup(name).type_str()
    table: dict[str, Hashable] = {
        t.name: (t.data_type, tuple(t.dims)) for t in g.initializer if t.name
    }
    for vi in (*g.input, *g.value_info, *g.output):
        if vi.HasField("type") and vi.type.WhichOneof("value") == "tensor_type":
            tt = vi.type.tensor_type
            dims = tuple(
                d.dim_value if d.HasField("dim_value") else d.dim_param for d in tt.shape.dim
            )
            table[vi.name] = (tt.elem_type, dims if tt.HasField("shape") else None)
        elif vi.HasField("type"):
            table[vi.name] = vi.type.SerializeToString()

    def type_of(name: str) -> Hashable:
        found = table.get(name)
        return found if found is not None else scope.lookup(name).type_str()

    return type_of


def node_signature(node: NodeProto, type_of: Callable[[str], Hashable]) -> Hashable:
    """What must match between repeats: op, attributes, and every input and output type.

    Input types keep e.g. a Conv(16->8) out of a run of Conv(8->8) with the same output.
    """
    attrs = tuple(sorted((a.name, _attr_signature(node, a)) for a in node.attribute))
    ins = tuple(type_of(i) if i else "" for i in node.input)
    outs = tuple(type_of(o) if o else "" for o in node.output)
    return (node.domain, node.op_type, attrs, ins, outs)


def find_runs(
    signatures: Sequence[Hashable],
    max_period: int = MAX_PERIOD,
    min_repeats: int = MIN_REPEATS,
    accept: Callable[[int, int, int], bool] | None = None,
    link: Callable[[int, int, int], bool] | None = None,
) -> list[tuple[int, int, int]]:
    """Back-to-back repeats in a sequence: `(start, period, repeats)`, left to right.

    At each position the period covering the most items wins (the shorter on a tie) among
    the candidates `accept(start, period, repeats)` allows; the scan resumes after the run,
    so runs never overlap. `link(start, period, r)` says whether repeat `r` continues the
    run (e.g. reads what repeat `r - 1` made): a run grows only while it holds, so 20,000
    equal but unlinked nodes cost linear time, not a check of every start position against
    the whole sequence.
    """
    ids: dict[Hashable, int] = {}
    seq = [ids.setdefault(s, len(ids)) for s in signatures]
    n = len(seq)
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < n:
        best: tuple[int, int] | None = None
        for p in range(1, max_period + 1):
            if i + p * min_repeats > n:
                break
            block = seq[i : i + p]
            k = 1
            while (
                i + (k + 1) * p <= n
                and seq[i + k * p : i + (k + 1) * p] == block
                and (link is None or link(i, p, k))
            ):
                k += 1
            if k < min_repeats or (best is not None and p * k <= best[0] * best[1]):
                continue
            if accept is None or accept(i, p, k):
                best = (p, k)
        if best is not None:
            runs.append((i, *best))
            i += best[0] * best[1]
        else:
            i += 1
    return runs
