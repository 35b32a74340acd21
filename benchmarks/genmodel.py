"""A large ONNX model with nested control flow, written with `onnx.helper`.

Fixed structure (``scale=1.0`` gives 100,004 nodes, nested nodes counted):

- top-level graph: ``top`` nodes; node ``LOOP_AT`` is a ``Loop`` (``top_loop``)
- the Loop's ``body``: ``body`` nodes; node ``IF_AT`` is an ``If`` (``body_if``), the last
  one is the ``Identity`` that passes the condition on
- the If's ``then_branch``: ``wide`` nodes, all direct children (the "5k-child body")
- the If's ``else_branch``: ``other`` nodes; node ``INNER_AT`` is a small ``Loop``
  (``inner_loop``) with a 3-node body

Every compute node is a ``Relu`` on a ``float[1, 4]`` chain, so the model is valid, passes
``onnx.checker`` and runs in ONNX Runtime. Reuse it from tests with `make_model` or
`write_model`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, helper

LOOP_AT = 10
"""Index of the top-level Loop (on the first screen of the tree)."""
IF_AT = 5
"""Index of the If inside the Loop body."""
INNER_AT = 3
"""Index of the inner Loop inside the else branch."""
F = TensorProto.FLOAT
SHAPE = [1, 4]


@dataclass(frozen=True)
class Layout:
    """Node counts of each graph of the generated model."""

    top: int
    body: int
    wide: int
    other: int

    @property
    def total(self) -> int:
        """All nodes, nested ones included (the inner Loop's body has 3)."""
        return self.top + self.body + self.wide + self.other + 3

    @property
    def wide_path(self) -> tuple[int | str, ...]:
        """Tree path (see `cfexplore.graph.tree`) of the then_branch with `wide` direct children."""
        return (LOOP_AT, "body", IF_AT, "then_branch")


def layout(scale: float = 1.0) -> Layout:
    """The node counts for `scale` (1.0: ~100k nodes with a 5,000-child then_branch)."""
    return Layout(
        top=max(LOOP_AT + 2, int(60_000 * scale)),
        body=max(IF_AT + 3, int(20_000 * scale)),
        wide=max(1, int(5_000 * scale)),
        other=max(INNER_AT + 2, int(15_001 * scale)),
    )


def _tv(name: str, elem: int = F, shape: list[int] | None = SHAPE) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _chain(prefix: str, src: str, n: int) -> tuple[list[onnx.NodeProto], str]:
    """`n` Relus from `src`; returns the nodes and the last output name."""
    nodes = []
    cur = src
    for i in range(n):
        out = f"{prefix}_{i}"
        nodes.append(helper.make_node("Relu", [cur], [out], name=f"{prefix}_relu_{i}"))
        cur = out
    return nodes, cur


def _inner_loop(src: str) -> tuple[onnx.NodeProto, str]:
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["ii_cond"], ["io_cond"], name="inner_cond"),
            helper.make_node("Relu", ["ii_v"], ["ii_r"], name="inner_relu"),
            helper.make_node("Neg", ["ii_r"], ["io_v"], name="inner_neg"),
        ],
        "inner_body",
        [_tv("ii_iter", TensorProto.INT64, []), _tv("ii_cond", TensorProto.BOOL, []), _tv("ii_v")],
        [_tv("io_cond", TensorProto.BOOL, []), _tv("io_v")],
    )
    node = helper.make_node("Loop", ["trips", "", src], ["inner_out"], name="inner_loop", body=body)
    return node, "inner_out"


def _else_branch(n: int) -> onnx.GraphProto:
    before, cur = _chain("e", "b_v", INNER_AT)
    loop, cur = _inner_loop(cur)
    after, cur = _chain("e2", cur, n - INNER_AT - 2)
    nodes = [*before, loop, *after, helper.make_node("Identity", [cur], ["e_out"], name="e_out")]
    return helper.make_graph(nodes, "else_branch", [], [_tv("e_out")])


def _then_branch(n: int) -> onnx.GraphProto:
    nodes, cur = _chain("t", "b_v", n - 1)
    nodes.append(helper.make_node("Identity", [cur], ["t_out"], name="t_out"))
    return helper.make_graph(nodes, "then_branch", [], [_tv("t_out")])


def _loop_body(lay: Layout) -> onnx.GraphProto:
    before, cur = _chain("b", "l_v", IF_AT)
    # the If reads the body's value through the outer scope as `b_v`
    nodes = [*before[:-1]]
    last = before[-1]
    nodes.append(helper.make_node("Relu", list(last.input), ["b_v"], name=last.name))
    cond = helper.make_node("Identity", ["l_cond"], ["l_cond_out"], name="body_cond")
    the_if = helper.make_node(
        "If",
        ["l_cond"],
        ["if_out"],
        name="body_if",
        then_branch=_then_branch(lay.wide),
        else_branch=_else_branch(lay.other),
    )
    after, cur = _chain("a", "if_out", lay.body - IF_AT - 3)
    nodes += [the_if, *after, helper.make_node("Identity", [cur], ["l_out"], name="body_out")]
    nodes.append(cond)
    return helper.make_graph(
        nodes,
        "loop_body",
        [_tv("l_iter", TensorProto.INT64, []), _tv("l_cond", TensorProto.BOOL, []), _tv("l_v")],
        [_tv("l_cond_out", TensorProto.BOOL, []), _tv("l_out")],
    )


def make_model(scale: float = 1.0) -> onnx.ModelProto:
    """The model for `scale` (see the module docstring for its structure)."""
    lay = layout(scale)
    before, cur = _chain("p", "x", LOOP_AT)
    loop = helper.make_node(
        "Loop", ["trips", "", cur], ["loop_out"], name="top_loop", body=_loop_body(lay)
    )
    after, cur = _chain("q", "loop_out", lay.top - LOOP_AT - 1)
    graph = helper.make_graph(
        [*before, loop, *after],
        "bench_100k",
        [_tv("x"), _tv("trips", TensorProto.INT64, [])],
        [helper.make_tensor_value_info(cur, F, SHAPE)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def count_nodes(graph: onnx.GraphProto) -> int:
    """Nodes of `graph` and of every subgraph, recursively."""
    total = 0
    for node in graph.node:
        total += 1
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                total += count_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                total += sum(count_nodes(g) for g in attr.graphs)
    return total


def write_model(path: str | os.PathLike[str], scale: float = 1.0) -> Layout:
    """Write the model to `path`; returns its layout."""
    onnx.save(make_model(scale), os.fspath(path))
    return layout(scale)


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench_100k.onnx")
    lay = write_model(out, float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
    print(f"{out}: {lay.total:,} nodes, {out.stat().st_size:,} bytes")


def sibling_ifs(n: int = 20_000) -> onnx.ModelProto:
    """`n` If nodes side by side in the main graph, each with a one-node then and else
    branch reading the outer `x`: the shape that made linting quadratic (every subgraph
    copied the enclosing scope) and onnx's shape inference take minutes."""
    nodes = []
    for i in range(n):
        then = helper.make_graph(
            [helper.make_node("Identity", ["x"], [f"t{i}"])], f"then{i}", [], [_tv(f"t{i}")]
        )
        other = helper.make_graph(
            [helper.make_node("Neg", ["x"], [f"e{i}"])], f"else{i}", [], [_tv(f"e{i}")]
        )
        nodes.append(
            helper.make_node(
                "If", ["c"], [f"y{i}"], name=f"if{i}", then_branch=then, else_branch=other
            )
        )
    graph = helper.make_graph(
        nodes, "sibling_ifs", [_tv("x"), _tv("c", onnx.TensorProto.BOOL, [])], [_tv(f"y{n - 1}")]
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
