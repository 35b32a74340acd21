"""How big an untrusted model gets once the tree inlines its local functions: counted
before anything expands, infers shapes over, or prints it.

A 2 KB file with 26 local functions, each calling the next four times, is 4^25 call paths:
the tree, shape inference (which infers a function body per call) and the audit all
inline per call. `footprint` counts the nodes the inlined tree would hold and how deep its
function calls nest, iteratively (no recursion: a 1,000-deep call chain is fine) and in
time linear in the file (each function's size is computed once, from its callees').
Counts stop growing at `cap`, so the numbers stay small.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from onnx import GraphProto, ModelProto, NodeProto

MAX_EXPANDED_NODES = 2_000_000
"""Nodes of the inlined tree above which nothing expands it whole: no shape inference, the
audit visits each function body once, `cfexplore tree` prints only a part on request."""

MAX_CALL_DEPTH = 64
"""Local-function calls nested deeper than this are shown as calls, not inlined."""

FunctionKey = tuple[str, str, str]


@dataclass(frozen=True)
class Footprint:
    """The inlined tree's size: nodes (at most `cap` + 1), deepest call nesting."""

    nodes: int
    call_depth: int
    cap: int = MAX_EXPANDED_NODES

    @property
    def over(self) -> bool:
        return self.nodes > self.cap or self.call_depth > MAX_CALL_DEPTH

    def describe(self) -> str:
        """`expands to over 2,000,000 nodes through its local functions` and the like."""
        parts = []
        if self.nodes > self.cap:
            parts.append(f"expands to over {self.cap:,} nodes through its local functions")
        if self.call_depth > MAX_CALL_DEPTH:
            parts.append(f"nests local-function calls {self.call_depth:,} deep")
        return " and ".join(parts)


def _subgraphs(node: NodeProto) -> Iterator[GraphProto]:
    for a in node.attribute:
        if a.HasField("g"):
            yield a.g
        yield from a.graphs


def _walk(nodes: list[NodeProto]) -> Iterator[NodeProto]:
    """Every node of a body and of its nested subgraphs, without recursion."""
    stack = [iter(nodes)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        yield node
        if node.attribute:
            for g in _subgraphs(node):
                stack.append(iter(g.node))


def footprint(model: ModelProto, cap: int = MAX_EXPANDED_NODES) -> Footprint:
    """Count the inlined tree of `model` (see the module docstring). Without local
    functions the tree is the file itself, as big as its bytes allow: not walked (`nodes`
    is then the main graph's count)."""
    if not model.functions:
        return Footprint(len(model.graph.node), 0, cap)
    functions = {(f.domain, f.name, f.overload): f for f in model.functions}
    by_name = {(k[0], k[1]): k for k in functions}

    def callee(node: NodeProto) -> FunctionKey | None:
        key = (node.domain, node.op_type, node.overload)
        if key in functions:
            return key
        return None if node.overload else by_name.get((node.domain, node.op_type))

    # per function: its own node count (subgraphs included) and the calls it makes
    local: dict[FunctionKey, int] = {}
    calls: dict[FunctionKey, list[FunctionKey]] = {}
    for key, f in functions.items():
        count, made = 0, []
        for node in _walk(list(f.node)):
            count += 1
            target = callee(node) if functions else None
            if target is not None:
                made.append(target)
        local[key], calls[key] = count, made

    # post-order over the call graph (iterative); a call back into the stack is not
    # inlined by the tree (recursion), so it counts nothing here either
    size: dict[FunctionKey, int] = {}
    depth: dict[FunctionKey, int] = {}
    for root in functions:
        if root in size:
            continue
        on_stack = {root}
        stack: list[tuple[FunctionKey, int]] = [(root, 0)]
        while stack:
            key, i = stack[-1]
            made = calls[key]
            if i < len(made):
                stack[-1] = (key, i + 1)
                nxt = made[i]
                if nxt not in size and nxt not in on_stack:
                    on_stack.add(nxt)
                    stack.append((nxt, 0))
                continue
            stack.pop()
            on_stack.discard(key)
            total, deepest = local[key], 0
            for nxt in made:
                if nxt in size:
                    total = min(total + size[nxt], cap + 1)
                    deepest = max(deepest, depth[nxt] + 1)
            size[key], depth[key] = total, deepest

    nodes, deepest = 0, 0
    for node in _walk(list(model.graph.node)):
        nodes += 1
        target = callee(node) if functions else None
        if target is not None and target in size:
            nodes = min(nodes + size[target], cap + 1)
            deepest = max(deepest, depth[target] + 1)
        if nodes > cap and deepest > MAX_CALL_DEPTH:
            break
    return Footprint(min(nodes, cap + 1), deepest, cap)
