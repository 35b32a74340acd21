"""The audit's walk over the inlined tree and its three checks (constant If and Loop, runs)."""

from __future__ import annotations

from typing import Any

from onnx import NodeProto

from cfexplore.analysis.audit_fold import MAX_FOLD_NODES, Folder
from cfexplore.analysis.audit_report import AuditFlag, FlagKind
from cfexplore.analysis.audit_runs import MIN_REPEATS, find_runs, node_signature, value_types
from cfexplore.analysis.audit_scope import Frame, function_frame, graph_frame, node_display
from cfexplore.graph.describe import graph_attributes, path_to_str
from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import FUNCTION_STEP, STANDARD_DOMAINS


def _times(n: int) -> str:
    return {0: "never runs", 1: "always runs exactly once"}.get(n, f"always runs exactly {n} times")


class Auditor:
    """Walks the inlined tree once, graph by graph, collecting flags in display order."""

    def __init__(self, tree: OnnxTree) -> None:
        self.tree = tree
        model = tree.model
        self.opsets = list(model.opset_import)
        function_ops = {(f.domain, f.name) for f in model.functions}
        self.function_ops = function_ops
        self.folder = Folder(int(model.ir_version), function_ops)
        self.flags: list[AuditFlag] = []
        self.once: set[tuple[str, str, str]] | None = set() if tree.footprint.over else None
        """Over the budget (`budget.footprint`), each function body is audited at its
        first call only: per call, 4^25 call paths would never finish."""

    def run(self) -> list[AuditFlag]:
        self._graph(graph_frame(self.tree.root, None, self.opsets))
        return self.flags

    def _graph(self, frame: Frame) -> None:
        item = frame.item
        src = item.graph if item.graph is not None else item.function
        assert src is not None
        nodes = list(src.node)
        runs = {start: (p, k) for start, p, k in self._runs(frame, nodes)}
        for i, node in enumerate(nodes):
            npath = (*item.path, i)
            if i in runs:
                self._flag_run(frame, nodes, i, *runs[i])
            children: list[Frame] = []
            for key, _ in graph_attributes(node) if node.attribute else ():
                sub = self.tree.node_by_path((*npath, key))
                assert isinstance(sub, GraphItem)
                children.append(graph_frame(sub, frame, frame.opsets))
            if node.domain in STANDARD_DOMAINS and node.op_type == "If":
                self._check_if(frame, node, i)
            elif node.domain in STANDARD_DOMAINS and node.op_type == "Loop":
                self._check_loop(frame, node, i, children)
            if (node.domain, node.op_type) in self.function_ops:
                call = self.tree.node_by_path(npath)
                assert isinstance(call, NodeItem)
                fkey = call.function_key
                seen = self.once is not None and fkey in self.once
                if self.once is not None and fkey is not None:
                    self.once.add(fkey)
                if call.inlines_body and not seen:
                    body = call.child(FUNCTION_STEP)
                    assert isinstance(body, GraphItem)
                    children.append(function_frame(body, node, frame, self.opsets))
            for child in children:
                self._graph(child)

    def _add(
        self,
        kind: FlagKind,
        frame: Frame,
        node: NodeProto,
        i: int,
        msg: str,
        details: dict[str, Any],
    ) -> None:
        path = (*frame.item.path, i)
        self.flags.append(
            AuditFlag(
                kind, path, path_to_str(path), node_display(node, i), node.op_type, msg, details
            )
        )

    # -- constant If

    def _check_if(self, frame: Frame, node: NodeProto, i: int) -> None:
        if not node.input or not node.input[0]:
            return
        folded = self.folder.fold(frame, node.input[0])
        value = None if folded is None else folded.scalar()
        if folded is None or value is None:
            return
        value = bool(value)
        branch = "then_branch" if value else "else_branch"
        msg = (
            f"If '{node_display(node, i)}' always takes {branch}: its condition is the constant "
            f"{value} ({folded.phrase()})"
        )
        details = {
            "cond": node.input[0],
            "value": value,
            "branch": branch,
            "source": folded.source,
            "origin": folded.origin,
            "chain": folded.chain,
        }
        self._add("constant-if", frame, node, i, msg, details)

    # -- constant Loop

    def _check_loop(self, frame: Frame, node: NodeProto, i: int, children: list[Frame]) -> None:
        body_frames = [c for c in children if c.item.attr_name == "body"]
        if not body_frames or not node.input or not node.input[0]:
            return  # no trip count: the loop is bounded only by its condition
        body = body_frames[0]
        trip = self.folder.fold(frame, node.input[0])
        trips = None if trip is None else trip.scalar()
        if trip is None or not isinstance(trips, int | float):
            return
        trips = int(trips)
        cond_name = node.input[1] if len(node.input) > 1 else ""
        cond0: bool | None = None
        cond_origin: str | None = None
        cond_phrase = ""
        if cond_name:
            c = self.folder.fold(frame, cond_name)
            cv = None if c is None else c.scalar()
            if c is None or cv is None:
                return
            cond0, cond_origin, cond_phrase = bool(cv), c.origin, c.phrase()
        body_cond = self._body_cond(body)
        if body_cond is None:
            return
        if cond0 is False or trips <= 0:
            iterations = 0
        elif body_cond == "constant false":
            iterations = 1
        else:
            iterations = trips
        name = node_display(node, i)
        if cond0 is False:
            reason = f"its initial condition is the constant False ({cond_phrase})"
        else:
            reason = f"its trip count is the constant {trips} ({trip.phrase()})"
            if iterations > 0 and body_cond == "constant false":
                reason += " and its body's condition is the constant False"
            elif iterations > 0:
                reason += " and its condition can never turn false"
        details = {
            "trip_count": trips,
            "iterations": iterations,
            "trip_count_origin": trip.origin,
            "initial_cond": cond0,
            "initial_cond_origin": cond_origin,
            "body_cond": body_cond,
        }
        msg = f"Loop '{name}' {_times(iterations)}: {reason}"
        self._add("constant-loop", frame, node, i, msg, details)

    def _body_cond(self, body: Frame) -> str | None:
        """`pass-through`, `constant true`/`constant false`, or None when it can vary."""
        g = body.item.graph
        if g is None or len(g.input) < 2 or not g.output:
            return None
        cond_in, name = g.input[1].name, g.output[0].name
        for _ in range(MAX_FOLD_NODES):
            if name == cond_in:
                return "pass-through"
            entry = body.values.get(name)
            if entry is None or entry[0] != "node" or entry[1].op_type != "Identity":
                break
            name = entry[1].input[0] if entry[1].input else ""
        folded = self.folder.fold(body, g.output[0].name)
        value = None if folded is None else folded.scalar()
        if value is None:
            return None
        return "constant true" if bool(value) else "constant false"

    # -- unrolled runs

    def _runs(self, frame: Frame, nodes: list[NodeProto]) -> list[tuple[int, int, int]]:
        if len(nodes) < MIN_REPEATS:
            return []
        type_of = value_types(frame)
        sigs = [node_signature(n, type_of) for n in nodes]

        def is_loop(start: int, p: int, k: int) -> bool:
            return not all(n.op_type == "Constant" for n in nodes[start : start + p])

        # for each node, the positions of the nodes whose outputs it reads (this graph)
        producer = {o: j for j, n in enumerate(nodes) for o in n.output if o}
        sources = [[producer[i] for i in n.input if i in producer] for n in nodes]

        def link(start: int, p: int, r: int) -> bool:
            """Repeat r reads an output of repeat r - 1 (a loop-carried value)."""
            lo, hi = start + (r - 1) * p, start + r * p
            return any(lo <= src < hi for j in range(hi, hi + p) for src in sources[j])

        return find_runs(sigs, accept=is_loop, link=link)

    def _flag_run(self, frame: Frame, nodes: list[NodeProto], start: int, p: int, k: int) -> None:
        ops = [n.op_type for n in nodes[start : start + p]]
        last = start + p * k - 1
        ops_text = ops[0] if p == 1 else "[" + ", ".join(ops) + "]"
        msg = (
            f"{ops_text} repeats {k} times back to back (nodes {start}-{last}): "
            "likely a Python loop unrolled at export"
        )
        gpath = frame.item.path
        details = {
            "ops": ops,
            "period": p,
            "repeats": k,
            "first_index": start,
            "last_index": last,
            "first_path": [*gpath, start],
            "last_path": [*gpath, last],
            "graph": path_to_str(gpath),
        }
        self._add("unrolled-loop", frame, nodes[start], start, msg, details)
