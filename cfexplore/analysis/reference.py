"""The third backend: onnx's pure-Python ReferenceEvaluator, with a branch trace.

It runs the same ONNX model as ONNX Runtime, so when PyTorch disagrees with both the fault
is in the export, and when the two ONNX backends disagree it is in a runtime. Its `If`
and `Loop` are wrapped to record which branch ran and how many iterations ran, keyed by
the graph.py path string of the node (the TUI badges tree nodes with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cfexplore.graph.describe import graph_attributes, path_to_str

PATH_KEY = "cfexplore.path"
"""metadata_props key that tags each control-flow node with its tree path."""
TRACED_OPS = ("If", "Loop")
AUTO_LIMIT_BYTES = 8 * 1024 * 1024
"""`reference=None` (auto) runs the evaluator only for models up to this size: it is
pure numpy, and the full-size seed model takes ~5 s per run with it."""


@dataclass
class NodeTrace:
    """What one If/Loop did over a set of samples (runs)."""

    op: str
    name: str
    samples: int = 0
    then: int = 0
    """Samples in which the then_branch ran at least once (If)."""
    other: int = 0
    """Samples in which the else_branch ran at least once (If)."""
    trips: list[int] = field(default_factory=list)
    """Iterations per execution (Loop), over all samples."""

    def merge(self, more: NodeTrace) -> None:
        self.samples += more.samples
        self.then += more.then
        self.other += more.other
        self.trips.extend(more.trips)

    def summary(self) -> str:
        """`then 3/4 · else 1/4` or `trip 0..3`, with `untested` for a branch never run."""
        if self.op == "If":
            parts = [f"then {self.then}/{self.samples}", f"else {self.other}/{self.samples}"]
            if self.untested:
                parts.append(f"{self.untested} untested")
            return " · ".join(parts)
        if not self.trips:
            return f"never ran ({self.samples} samples)"
        lo, hi = min(self.trips), max(self.trips)
        return f"trip {lo}" if lo == hi else f"trip {lo}..{hi}"

    @property
    def untested(self) -> str | None:
        """The branch no sample took (If), or None."""
        if self.op != "If" or not self.samples:
            return None
        if self.then == 0 and self.other == 0:
            return "both branches"
        if self.then == 0:
            return "then_branch"
        if self.other == 0:
            return "else_branch"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary(), "untested": self.untested}


Trace = dict[str, NodeTrace]
"""Tree path string -> what that If/Loop did."""


def merge_traces(into: Trace, more: Trace) -> Trace:
    for key, node in more.items():
        if key in into:
            into[key].merge(node)
        else:
            into[key] = NodeTrace(
                node.op, node.name, node.samples, node.then, node.other, list(node.trips)
            )
    return into


def _walk(graph: Any, prefix: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    for i, node in enumerate(graph.node):
        path = (*prefix, i)
        yield path, node
        for key, sub in graph_attributes(node):
            yield from _walk(sub, (*path, key))


def tag_control_flow(model: Any) -> Any:
    """A copy of `model` whose If/Loop nodes carry their tree path in metadata_props."""
    import onnx

    tagged = onnx.ModelProto()
    tagged.CopyFrom(model)
    for path, node in _walk(tagged.graph, ()):
        if node.op_type in TRACED_OPS and node.domain in ("", "ai.onnx"):
            entry = node.metadata_props.add()
            entry.key, entry.value = PATH_KEY, path_to_str(path)
    return tagged


class TracingReference:
    """A ReferenceEvaluator for one model that also returns the branch trace of each run."""

    def __init__(self, model: Any) -> None:
        from onnx.reference import ReferenceEvaluator
        from onnx.reference.ops.op_if import If as RefIf
        from onnx.reference.ops.op_loop import Loop as RefLoop

        self._events: list[tuple[str, str, str, Any]] = []
        events = self._events

        def key(op: Any) -> tuple[str, str]:
            for prop in op.onnx_node.metadata_props:
                if prop.key == PATH_KEY:
                    return prop.value, op.onnx_node.name
            return f"?{op.onnx_node.name}", op.onnx_node.name

        def run_if(op: Any, cond: Any, *args: Any, **kwargs: Any) -> Any:
            path, name = key(op)
            events.append(("If", path, name, bool(np.asarray(cond).item())))
            return RefIf._run(op, cond, *args, **kwargs)

        def init_loop(op: Any, onnx_node: Any, run_params: Any) -> None:
            RefLoop.__init__(op, onnx_node, run_params)  # type: ignore[no-untyped-call]
            body = op._run_body
            op._trips = 0

            def counted(*args: Any, **kwargs: Any) -> Any:
                op._trips += 1
                return body(*args, **kwargs)

            op._run_body = counted

        def run_loop(op: Any, *args: Any, **kwargs: Any) -> Any:
            op._trips = 0
            out = RefLoop._run(op, *args, **kwargs)  # type: ignore[no-untyped-call]
            path, name = key(op)
            events.append(("Loop", path, name, op._trips))
            return out

        if_cls = type("If", (RefIf,), {"op_domain": "", "_run": run_if})
        loop_cls = type(
            "Loop", (RefLoop,), {"op_domain": "", "__init__": init_loop, "_run": run_loop}
        )
        tagged = tag_control_flow(model)
        self.nodes = [
            (node.op_type, path_to_str(path), node.name)
            for path, node in _walk(tagged.graph, ())
            if node.op_type in TRACED_OPS and node.domain in ("", "ai.onnx")
        ]
        """Every traced node, so one that never ran in a sample still shows up."""
        self.evaluator = ReferenceEvaluator(tagged, new_ops=[if_cls, loop_cls])

    def run(self, feeds: dict[str, np.ndarray]) -> tuple[list[Any], Trace]:
        """Outputs and the trace of this one sample."""
        self._events.clear()
        outs = self.evaluator.run(None, feeds)
        trace: Trace = {path: NodeTrace(op, name, samples=1) for op, path, name in self.nodes}
        for op, path, name, value in self._events:
            node = trace.setdefault(path, NodeTrace(op, name, samples=1))
            if op == "If":
                if value:
                    node.then = 1
                else:
                    node.other = 1
            else:
                node.trips.append(int(value))
        return [np.asarray(o) if not isinstance(o, list) else o for o in outs], trace
