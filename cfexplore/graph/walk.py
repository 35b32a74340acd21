"""Every graph and tensor of a model, nested subgraphs and local functions included:
the one iterative walk the loaders and lint share (no recursion, so depth is no limit)."""

from __future__ import annotations

from collections.abc import Iterator

import onnx
from onnx import AttributeProto, GraphProto, ModelProto, TensorProto

# --------------------------------------------------------------------------- walking graphs


def iter_graphs(model: ModelProto) -> Iterator[tuple[str, GraphProto]]:
    """(where, graph) for the main graph, every subgraph, function bodies' subgraphs and
    training graphs, iteratively (deep nesting is fine)."""
    stack: list[tuple[str, GraphProto]] = []
    for i, info in enumerate(model.training_info):
        if info.HasField("algorithm"):
            stack.append((f"training_info[{i}].algorithm", info.algorithm))
        if info.HasField("initialization"):
            stack.append((f"training_info[{i}].initialization", info.initialization))
    if model.HasField("graph"):
        stack.append(("graph", model.graph))
    for f in model.functions:
        for node in f.node:
            stack.extend(
                (f"function {f.name}/{node.name or node.op_type}", g) for g in _subgraphs(node)
            )
    while stack:
        where, g = stack.pop()
        yield where, g
        for node in g.node:
            if node.attribute:  # most nodes have none: skip the call
                for key, sub in subgraph_items(node):
                    stack.append((f"{where}/{node.name or node.op_type}.{key}", sub))


def subgraph_items(node: onnx.NodeProto) -> list[tuple[str, GraphProto]]:
    out: list[tuple[str, GraphProto]] = []
    for a in node.attribute:
        if a.HasField("g"):
            out.append((a.name, a.g))
        out.extend((f"{a.name}[{i}]", g) for i, g in enumerate(a.graphs))
    return out


def _subgraphs(node: onnx.NodeProto) -> list[GraphProto]:
    return [g for _, g in subgraph_items(node)]


def _attribute_tensors(a: AttributeProto) -> Iterator[TensorProto]:
    if a.HasField("t"):
        yield a.t
    yield from a.tensors
    if a.HasField("sparse_tensor"):
        yield a.sparse_tensor.values
        yield a.sparse_tensor.indices
    for st in a.sparse_tensors:
        yield st.values
        yield st.indices


def iter_tensors(model: ModelProto) -> Iterator[TensorProto]:
    """Every TensorProto of the model: initializers, sparse ones, and node attributes,
    in all graphs and local-function bodies."""
    for _, g in iter_graphs(model):
        yield from g.initializer
        for st in g.sparse_initializer:
            yield st.values
            yield st.indices
        for node in g.node:
            for a in node.attribute:
                yield from _attribute_tensors(a)
    for f in model.functions:
        for node in f.node:
            for a in node.attribute:
                yield from _attribute_tensors(a)
