"""Where each name read in an audited graph comes from: one frame per graph or function body.

A subgraph's frame falls back to its enclosing graph's (outer-scope reads); an inlined
function body's binds each formal input to the caller's frame and actual name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from onnx import NodeProto, OperatorSetIdProto

from cfexplore.graph.items import GraphItem

Entry = tuple[Any, ...]
"""What a name is bound to in a frame: `("init", tensor)`, `("input",)`, `("node", node, i)`."""


@dataclass(eq=False)
class Frame:
    """Where each name visible in one graph (or inlined function body) comes from.

    `values` maps a name to `("init", TensorProto)`, `("input",)` or
    `("node", NodeProto, index)`; names not found fall back to `parent` (the enclosing
    graph) or, in a function body, to `bindings` (formal -> caller frame and actual name).
    """

    item: GraphItem
    parent: Frame | None
    values: dict[str, Entry]
    opsets: list[OperatorSetIdProto]
    bindings: dict[str, tuple[Frame, str]] = field(default_factory=dict)


def graph_frame(item: GraphItem, parent: Frame | None, opsets: list[OperatorSetIdProto]) -> Frame:
    g = item.graph
    assert g is not None
    values: dict[str, Entry] = {}
    for t in g.initializer:
        values[t.name] = ("init", t)
    for vi in g.input:  # a main-graph input with an initializer is overridable: not constant
        values[vi.name] = ("input",)
    for i, n in enumerate(g.node):
        for o in n.output:
            if o:
                values[o] = ("node", n, i)
    return Frame(item, parent, values, opsets)


def function_frame(
    item: GraphItem, call: NodeProto, caller: Frame, opsets: list[OperatorSetIdProto]
) -> Frame:
    fn = item.function
    assert fn is not None
    values: dict[str, Entry] = {}
    bindings: dict[str, tuple[Frame, str]] = {}
    for i, formal in enumerate(fn.input):
        actual = call.input[i] if i < len(call.input) else ""
        if actual:
            bindings[formal] = (caller, actual)
        else:
            values[formal] = ("input",)
    for i, n in enumerate(fn.node):
        for o in n.output:
            if o:
                values[o] = ("node", n, i)
    return Frame(item, None, values, list(fn.opset_import) or opsets, bindings)


def resolve(frame: Frame, name: str) -> tuple[Frame, str, Entry] | None:
    """(owning frame, name there, entry) for `name` as read in `frame`, or None."""
    f: Frame | None = frame
    for _ in range(10_000):  # bindings can hop between frames; never loop forever
        if f is None:
            return None
        if name in f.values:
            return f, name, f.values[name]
        if name in f.bindings:
            f, name = f.bindings[name]
            continue
        f = f.parent
    return None


def node_display(node: NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}#{index}"
