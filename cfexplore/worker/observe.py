"""Every intermediate value of one run, on both sides, for `locate`.

PyTorch: forward pre-hooks and hooks on every module record the tensors that cross each
module's boundary, call by call. ONNX: the top-level graph runs in ONNX Runtime with every
node output added as a graph output; values inside If/Loop/Scan bodies come from onnx's
reference evaluator, whose subgraph evaluators are wrapped to keep each execution's
intermediate results (one per loop iteration).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cfexplore.analysis.locate import ModuleCall, Observed, Seen
from cfexplore.graph.describe import graph_attributes, has_graph_attribute, path_to_str

CF_AFTER = 1 << 40
"""Order-key suffix of a control-flow node's own outputs: after everything in its bodies."""


def _leaves(obj: Any) -> list[Any]:
    import torch
    from torch.utils import _pytree

    return [
        t.detach().cpu().numpy()
        for t in _pytree.tree_leaves(obj)
        if isinstance(t, torch.Tensor) and t.layout == torch.strided
    ]


@contextmanager
def module_hooks(module: Any) -> Iterator[dict[str, list[ModuleCall]]]:
    """Record each module's boundary tensors while the block runs: qualified name -> calls.

    A TorchScript module takes no Python hooks: it is recorded as a whole (its root only)
    or not at all.
    """
    calls: dict[str, list[ModuleCall]] = {}
    handles: list[Any] = []
    for name, sub in module.named_modules():

        def pre(_m: Any, args: Any, kwargs: Any, name: str = name) -> None:
            calls.setdefault(name, []).append(ModuleCall(inputs=_leaves((args, kwargs))))

        def post(_m: Any, _args: Any, _kwargs: Any, out: Any, name: str = name) -> None:
            mine = calls.get(name)
            if mine:
                # the last call without outputs is this one (re-entrant calls nest)
                for call in reversed(mine):
                    if not call.outputs:
                        call.outputs = _leaves(out)
                        break

        try:
            handles.append(sub.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(sub.register_forward_hook(post, with_kwargs=True))
        except Exception:  # ScriptModule and friends take no hooks
            continue
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def _top_level_outputs(model: Any) -> Any:
    """A copy of `model` that outputs every node output of its main graph (typed where
    shape inference knows the type)."""
    import onnx

    wide = onnx.ModelProto()
    wide.CopyFrom(model)
    try:
        inferred = onnx.shape_inference.infer_shapes(wide)
        types = {v.name: v for v in inferred.graph.value_info}
    except Exception:
        types = {}
    have = {o.name for o in wide.graph.output}
    for node in wide.graph.node:
        for out in node.output:
            if not out or out in have:
                continue
            have.add(out)
            if out in types:
                wide.graph.output.append(types[out])
            else:
                wide.graph.output.add().name = out
    return wide


def observe_top_level(model: Any, feeds: dict[str, Any], options: Any) -> Observed:
    """Every main-graph value through ONNX Runtime (graph inputs included)."""
    import onnxruntime as ort

    wide = _top_level_outputs(model)
    session = ort.InferenceSession(
        wide.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, feeds)
    got = dict(zip(names, values, strict=True))
    seen: Observed = {}
    for name, value in feeds.items():
        seen[("", name)] = [Seen((-1,), [], value)]
    for i, node in enumerate(model.graph.node):
        after = (i, CF_AFTER) if has_graph_attribute(node) else (i,)
        for out in node.output:
            if out in got:
                seen[("", out)] = [Seen(after, [], got[out])]
    return seen


def observe_bodies(model: Any, feeds: dict[str, Any]) -> Observed:
    """Every value inside If/Loop/Scan bodies, per execution, through the reference
    evaluator (empty when the model has no bodies)."""
    from onnx.reference import ReferenceEvaluator

    seen: Observed = {}
    if not any(has_graph_attribute(n) for n in model.graph.node):
        return seen
    evaluator = ReferenceEvaluator(model)
    stack: list[tuple[int, ...]] = [()]
    iters: list[list[int]] = [[]]

    def wrap(ev: Any, graph: Any, gpath: tuple[Any, ...], owner: int) -> None:
        """Wrap `ev` (the evaluator of `graph`, the body at tree path `gpath` of the node
        at index `owner` in its graph) and its own bodies."""
        produced = {out: j for j, n in enumerate(graph.node) for out in n.output if out}
        control_flow = {j for j, n in enumerate(graph.node) if has_graph_attribute(n)}
        inputs = [i.name for i in graph.input]
        key = path_to_str(gpath)
        count = [0]
        run = ev.run

        def recording(output_names: Any, feed: Any, *args: Any, **kwargs: Any) -> Any:
            k = count[0]
            count[0] += 1
            here = (*stack[-1], owner, k)
            stack.append(here)
            iters.append([*iters[-1], k])
            try:
                kwargs["intermediate"] = True
                results = run(None, feed, *args, **kwargs)
            finally:
                stack.pop()
                it = iters.pop()
            for name in inputs:
                if name in results:
                    seen.setdefault((key, name), []).append(Seen((*here, -1), it, results[name]))
            for name, j in produced.items():
                if name in results:
                    order = (*here, j, CF_AFTER) if j in control_flow else (*here, j)
                    seen.setdefault((key, name), []).append(Seen(order, it, results[name]))
            names = output_names or ev.output_names
            return [results[n] for n in names]

        ev.run = recording
        walk(ev, graph, gpath)

    def walk(ev: Any, graph: Any, gpath: tuple[Any, ...]) -> None:
        for j, (op, node) in enumerate(zip(ev.rt_nodes_, graph.node, strict=False)):
            for attr, sub in graph_attributes(node):
                body = getattr(op, attr, None)
                if isinstance(body, ReferenceEvaluator):
                    wrap(body, sub, (*gpath, j, attr), j)

    walk(evaluator, model.graph, ())
    evaluator.run(None, feeds)
    return seen
