"""A model's control-flow skeleton: its If/Loop/Scan/SequenceMap nodes, nested, with op counts.

Local-function bodies are inlined as in the tree view; each graph also fingerprints its small
constants, which tell apart branches with the same ops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import onnx
from onnx import AttributeProto, NodeProto, TensorProto

from cfexplore.analysis.compare_ops import short_key, sorted_counts
from cfexplore.graph.describe import path_to_str
from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import ItemPath

_SMALL_CONSTANT = 64


@dataclass
class SkeletonGraph:
    """One graph of a skeleton (main graph, branch or body) and its control-flow nodes.

    `ops` counts the nodes directly in this graph (local-function calls replaced by their
    bodies; control-flow nodes counted by op type, their subgraphs not); `total_ops` counts
    everything below as well. `constants` fingerprints the small constants defined here
    (Constant nodes and initializers), used to tell apart branches with the same ops.
    """

    key: str
    path: ItemPath
    ops: Counter[str] = field(default_factory=Counter)
    total_ops: Counter[str] = field(default_factory=Counter)
    constants: Counter[str] = field(default_factory=Counter)
    control_flow: list[SkeletonNode] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        """Nodes directly in this graph."""
        return sum(self.ops.values())

    @property
    def total_nodes(self) -> int:
        """Nodes in this graph and every subgraph below it."""
        return sum(self.total_ops.values())


@dataclass
class SkeletonNode:
    """An If/Loop/Scan/SequenceMap node: where it is, and what its subgraphs hold."""

    path: ItemPath
    name: str
    op: str
    branches: list[SkeletonGraph]

    def label(self) -> str:
        """`If /If (then 2 ops, else 1 op)`."""
        parts = [
            f"{short_key(b.key)} {b.total_nodes} op{'' if b.total_nodes == 1 else 's'}"
            for b in self.branches
        ]
        return f"{self.op} {self.name}" + (f" ({', '.join(parts)})" if parts else "")

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "path": path_to_str(self.path),
            "name": self.name,
            "branches": [
                {"key": b.key, "nodes": b.total_nodes, "ops": sorted_counts(b.total_ops)}
                for b in self.branches
            ],
        }


def build_skeleton(tree: OnnxTree) -> SkeletonGraph:
    """The control-flow skeleton of a model, with op counts per graph (walks every node)."""
    return _build_graph(tree.root, "main")


def _build_graph(item: GraphItem, key: str) -> SkeletonGraph:
    graph = SkeletonGraph(key, item.path)
    if item.graph is not None:
        for t in item.graph.initializer:
            _add_constant(graph.constants, t)
    _walk(item, graph)
    return graph


def _walk(item: GraphItem, into: SkeletonGraph) -> None:
    """Add `item`'s nodes to `into`, inlining local-function bodies at their call."""
    for node in item.children():
        if node.is_control_flow:
            branches = [_build_graph(g, g.attr_name or "") for g in _subgraphs(node)]
            into.control_flow.append(
                SkeletonNode(node.path, node.display_name, node.op_type, branches)
            )
            into.ops[node.op_type] += 1
            into.total_ops[node.op_type] += 1
            for b in branches:
                into.total_ops.update(b.total_ops)
            continue
        inlined = node.inlines_body
        if not inlined:
            into.ops[node.op_type] += 1
            into.total_ops[node.op_type] += 1
            if node.op_type == "Constant":
                _add_node_constant(into.constants, node.proto)
        for child in node.children():
            if child.kind == "function":
                _walk(child, into)
            else:  # a graph attribute of a non-control-flow (custom) op
                into.total_ops.update(_build_graph(child, child.attr_name or "").total_ops)


def _subgraphs(node: NodeItem) -> list[GraphItem]:
    return [g for g in node.children() if g.kind == "subgraph"]


def _add_constant(into: Counter[str], t: TensorProto) -> None:
    fp = _fingerprint(t)
    if fp is not None:
        into[fp] += 1


def _add_node_constant(into: Counter[str], node: NodeProto) -> None:
    for a in node.attribute:
        if a.type == AttributeProto.TENSOR:
            _add_constant(into, a.t)
        elif a.type == AttributeProto.FLOAT:
            into[_values_text([a.f])] += 1
        elif a.type == AttributeProto.INT:
            into[_values_text([a.i])] += 1
        elif a.type == AttributeProto.FLOATS:
            into[_values_text(list(a.floats))] += 1
        elif a.type == AttributeProto.INTS:
            into[_values_text(list(a.ints))] += 1


def _fingerprint(t: TensorProto) -> str | None:
    """Values of a small tensor as floats (dtype and shape ignored), or None if large."""
    if t.data_location == TensorProto.EXTERNAL:
        return None
    size = 1
    for d in t.dims:
        size *= int(d)
    if size > _SMALL_CONSTANT:
        return None
    try:
        values = onnx.numpy_helper.to_array(t).reshape(-1).tolist()
    except Exception:  # odd dtypes: no fingerprint, no tie-break
        return None
    return _values_text(values)


def _values_text(values: Sequence[Any]) -> str:
    out = []
    for v in values:
        try:
            out.append(f"{float(v):.6g}")
        except (TypeError, ValueError):
            out.append(repr(v))
    return ",".join(out)
