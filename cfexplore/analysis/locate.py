"""Where ONNX first disagrees with PyTorch: pair values at module boundaries, compare them
in topological order.

The exporters name each node after the module it came from: TorchScript and trace in the
node name (`/body/layer1/0/Conv`; trace behind its wrapper, `/inner/...`), torch.export in
`metadata_props["pkg.torch.onnx.name_scopes"]`. A module's ONNX *inputs* are the values its
nodes read that something outside it made; its *outputs* are the values its nodes made that
something outside it reads (or the graph returns). Those are the values eager PyTorch shows
too, through module hooks, so each pair can be compared; the first pair that differs, in the
order the ONNX model computes them (loop iterations in turn), is where the export diverges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cfexplore.analysis.diffing import compare
from cfexplore.divergence import ValuePoint
from cfexplore.graph.describe import graph_attributes, path_to_str
from cfexplore.graph.sourcemap import node_source
from cfexplore.settings import RunSettings

TRACE_WRAPPER = "inner"
"""The attribute under which the trace exporter's wrapper holds the user's module."""


@dataclass
class Seen:
    """One ONNX value at one execution of its graph."""

    order: tuple[int, ...]
    """Topological position: node indices down the tree, with each body's execution count
    after its owner's index (`(1, 0, 2)`: node 2 of node 1's body, iteration 0)."""
    iteration: list[int]
    value: Any


Observed = dict[tuple[str, str], list[Seen]]
"""(graph path string — `` for the main graph, `1/body` for a body —, value name) -> every
time that value was computed, in order."""


@dataclass
class ModuleCall:
    """The tensors one call of one module took and gave (numpy, flattened pytree leaves)."""

    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)


Ref = tuple[str, str]
"""(graph path string, value name)."""


def node_module(node: Any, exporter: str, modules: set[str]) -> str:
    """The qualified name of the PyTorch module a node came from (`` for the root)."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                break
            found = [s for s in scopes if isinstance(s, str) and s in modules]
            return max(found, key=len) if found else ""
    name = node.name or ""
    if not name.startswith("/"):
        return ""
    parts = name.strip("/").split("/")[:-1]
    if exporter == "trace" and parts and parts[0] == TRACE_WRAPPER:
        parts = parts[1:]
    prefix = ""
    for part in parts:
        joined = f"{prefix}.{part}" if prefix else part
        tail = part.rsplit(".", 1)[-1]
        for cand in (joined, part, f"{prefix}.{tail}" if prefix else tail):
            if cand in modules:
                prefix = cand
                break
        else:
            break
    return prefix


def _inside(node_mod: str | None, module: str) -> bool:
    if node_mod is None:
        return False
    return module == "" or node_mod == module or node_mod.startswith(module + ".")


@dataclass
class _Graph:
    key: str
    path: tuple[Any, ...]
    proto: Any
    owner_module: str | None
    """The module of the node that owns this body; None for the main graph."""
    parent: _Graph | None
    defined: dict[str, int] = field(default_factory=dict)
    """Value name -> index of the node that makes it (-1: a graph/body input)."""
    constant: set[str] = field(default_factory=set)


def _graphs(model: Any) -> Iterator[_Graph]:
    todo = [_Graph("", (), model.graph, None, None)]
    while todo:
        g = todo.pop(0)
        for inp in g.proto.input:
            g.defined[inp.name] = -1
        g.constant = {i.name for i in g.proto.initializer}
        for j, node in enumerate(g.proto.node):
            for out in node.output:
                if out:
                    g.defined[out] = j
                    if node.op_type == "Constant":
                        g.constant.add(out)
        yield g
        for j, node in enumerate(g.proto.node):
            for attr, sub in graph_attributes(node):
                path = (*g.path, j, attr)
                todo.append(_Graph(path_to_str(path), path, sub, None, g))


@dataclass
class Boundaries:
    """Per module: the ONNX values that cross into and out of it."""

    inputs: dict[str, list[Ref]] = field(default_factory=dict)
    outputs: dict[str, list[Ref]] = field(default_factory=dict)
    producer: dict[Ref, tuple[tuple[Any, ...], Any, str]] = field(default_factory=dict)
    """Value -> (tree path of the node that made it, that node, its module)."""


def boundaries(model: Any, exporter: str, modules: set[str]) -> Boundaries:
    """Every module's boundary values, from the exporter's scope names."""
    graphs = list(_graphs(model))
    node_mods: dict[tuple[str, int], str] = {}
    for g in graphs:
        for j, node in enumerate(g.proto.node):
            node_mods[(g.key, j)] = node_module(node, exporter, modules)
    for g in graphs:
        if g.parent is not None:
            owner = g.path[-2]
            assert isinstance(owner, int)
            g.owner_module = node_mods[(g.parent.key, owner)]
    out = Boundaries()

    def resolve(g: _Graph, name: str) -> tuple[_Graph, int] | None:
        scope: _Graph | None = g
        while scope is not None:
            if name in scope.constant:
                return None
            if name in scope.defined:
                return scope, scope.defined[name]
            scope = scope.parent
        return None

    def maker_module(g: _Graph, j: int) -> str | None:
        return g.owner_module if j < 0 else node_mods[(g.key, j)]

    reads: dict[Ref, set[str | None]] = {}
    for g in graphs:
        for j, node in enumerate(g.proto.node):
            for name in node.input:
                found = resolve(g, name) if name else None
                if found:
                    reads.setdefault((found[0].key, name), set()).add(node_mods[(g.key, j)])
        for o in g.proto.output:
            found = resolve(g, o.name)
            if found:
                reads.setdefault((found[0].key, o.name), set()).add(g.owner_module)
    for g in graphs:
        for name, j in g.defined.items():
            ref = (g.key, name)
            if j >= 0:
                node = g.proto.node[j]
                out.producer[ref] = ((*g.path, j), node, node_mods[(g.key, j)])
            elif g.parent is not None:
                owner = g.path[-2]
                assert isinstance(owner, int)
                node = g.parent.proto.node[owner]
                out.producer[ref] = (g.path[:-1], node, g.owner_module or "")
    by_key = {g.key: g for g in graphs}
    made: dict[Ref, str | None] = {}
    for ref in reads:
        g = by_key[ref[0]]
        made[ref] = maker_module(g, g.defined[ref[1]])
    for module in modules:
        ins: list[Ref] = []
        outs: list[Ref] = []
        for ref, readers in reads.items():
            inside_made = _inside(made[ref], module)
            if not inside_made and any(_inside(r, module) for r in readers):
                ins.append(ref)
            if inside_made and any(not _inside(r, module) for r in readers):
                outs.append(ref)
        out.inputs[module] = ins
        out.outputs[module] = outs
    return out


@dataclass
class Pair:
    """One ONNX value at one execution, paired with the eager tensor it should equal."""

    ref: Ref
    seen: Seen
    eager: Any
    module: str
    boundary: str


def _numeric(a: Any) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype")


def pairs(
    bounds: Boundaries,
    calls: dict[str, list[ModuleCall]],
    observed: Observed,
    main_outputs: list[str],
) -> tuple[list[Pair], int]:
    """Every (ONNX value, eager tensor) pair the boundaries allow, and how many module-call
    boundaries could not be paired at all."""
    found: list[Pair] = []
    unmapped = 0
    for module, module_calls in calls.items():
        for boundary in ("input", "output"):
            if module == "" and boundary == "output":
                refs = [("", n) for n in main_outputs]
            else:
                refs = (bounds.inputs if boundary == "input" else bounds.outputs).get(module, [])
            for k, call in enumerate(module_calls):
                tensors = call.inputs if boundary == "input" else call.outputs
                cands = [
                    (ref, observed[ref][k])
                    for ref in refs
                    if ref in observed and k < len(observed[ref])
                ]
                cands = [c for c in cands if _numeric(c[1].value)]
                certain = module == "" and boundary == "output"
                got = _match(tensors, cands, certain)
                if tensors and not got:
                    unmapped += 1
                found += [Pair(ref, seen, e, module, boundary) for e, (ref, seen) in got]
    return found, unmapped


def _match(
    tensors: list[Any], cands: list[tuple[Ref, Seen]], certain: bool
) -> list[tuple[Any, tuple[Ref, Seen]]]:
    """Pair eager tensors with ONNX values: one each (same shape, unless `certain`: the
    model's outputs, paired in order, where a shape change is a divergence), or else by
    shape where it is unique. Scope names can put a reshape on the wrong side of a module
    boundary, so inside the graph a shape change means "not this pair", not "diverged"."""
    if len(tensors) == 1 and len(cands) == 1:
        if certain or tuple(tensors[0].shape) == tuple(cands[0][1].value.shape):
            return [(tensors[0], cands[0])]
        return []
    if certain and len(tensors) == len(cands):
        return list(zip(tensors, cands, strict=True))
    out = []
    for t in tensors:
        same = [c for c in cands if tuple(c[1].value.shape) == tuple(t.shape)]
        twins = [u for u in tensors if tuple(u.shape) == tuple(t.shape)]
        if len(same) == 1 and len(twins) == 1:
            out.append((t, same[0]))
    return out


@dataclass
class Located:
    """The comparison of every pair: the first that differs and the last agreeing before it."""

    first: ValuePoint | None
    last_agreeing: ValuePoint | None
    checked: int
    outputs_differ: bool


def locate_first(
    bounds: Boundaries,
    found: list[Pair],
    classes: dict[str, str],
    settings: RunSettings,
) -> Located:
    """Compare every pair once per ONNX value and execution, named after the module it
    leaves (the innermost that made it) or else the one it enters first (the outermost).
    The rule is `diff`'s (`settings`: tolerances, NaN rule, check mode); a model output's
    own `--atol NAME=`/`--rtol NAME=` apply to it."""
    best: dict[tuple[Ref, tuple[int, ...]], Pair] = {}
    for p in found:
        key = (p.ref, p.seen.order)
        old = best.get(key)
        if old is None or _better(p, old):
            best[key] = p
    results: list[tuple[tuple[int, ...], Pair, Any]] = []
    outputs_differ = False
    outputs = {p.ref for p in found if p.module == "" and p.boundary == "output"}

    def judge(p: Pair) -> Any:
        name = p.ref[1]
        is_output = p.ref in outputs
        rtol = (settings.output_rtol or {}).get(name, settings.rtol) if is_output else settings.rtol
        atol = (settings.output_atol or {}).get(name, settings.atol) if is_output else settings.atol
        mode = settings.check_mode
        return compare(0, name, p.eager, p.seen.value, rtol, atol, settings.equal_nan, mode)

    for p in best.values():
        d = judge(p)
        results.append((p.seen.order, p, d))
        if p.ref in outputs:
            outputs_differ |= not d.passed
    results.sort(key=lambda r: r[0])
    first = last = None
    for _order, p, d in results:
        if not d.passed:
            first = _point(bounds, p, d, classes)
            break
        last = _point(bounds, p, d, classes)
    return Located(first, last if first else None, len(results), outputs_differ)


def _better(new: Pair, old: Pair) -> bool:
    if new.boundary != old.boundary:
        return new.boundary == "output"
    deeper = len(new.module) > len(old.module)
    return deeper if new.boundary == "output" else not deeper and new.module != old.module


def _point(bounds: Boundaries, p: Pair, d: Any, classes: dict[str, str]) -> ValuePoint:
    path, node, node_mod = bounds.producer.get(p.ref, ((), None, ""))
    made_here = node is not None and p.ref[1] in node.output
    meta = {m.key: m.value for m in node.metadata_props} if node is not None else {}
    loc = node_source(node.doc_string, meta) if made_here else None
    return ValuePoint(
        path=path_to_str(path) if node is not None else "/",
        node_name=node.name if node is not None else "",
        op_type=node.op_type if node is not None else "(input)",
        value=p.ref[1],
        module=node_mod,
        module_class=classes.get(node_mod, ""),
        compared_at=p.module,
        compared_class=classes.get(p.module, ""),
        boundary=p.boundary,
        source=f"{loc.file}:{loc.line}" if loc else "",
        iteration=list(p.seen.iteration),
        max_abs=d.max_abs,
        max_rel=d.max_rel,
        note=d.note,
    )
