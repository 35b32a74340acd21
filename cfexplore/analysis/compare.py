"""Control-flow-aware diff of two ONNX exports: which If/Loop survived in one and not the other.

Each model is reduced to a *skeleton*: its If/Loop/Scan/SequenceMap nodes, nested as in the
graph, each with the op counts of its subgraphs (local-function bodies inlined, as in the
tree view). The skeletons are aligned level by level (a weighted sequence alignment over
op type, position and similarity of branch op counts), and every control-flow node gets a
row:

| kind | meaning |
|---|---|
| `same` | both models keep it (branch op-count differences are listed) |
| `folded` | A keeps an If, B has none here; the note says which branch B kept |
| `unrolled` | A keeps a Loop/Scan, B has none but repeats its body ops k times |
| `only-in-a` | anything else A has and B lacks |
| `only-in-b` | anything B has and A lacks (also when A folded or unrolled what B keeps) |

Which branch B kept is read from B's *surplus* ops in the enclosing graph (B's op counts
there minus A's): the branch whose op Counter (ignoring `Identity`/`Constant` plumbing) is
contained in it. When both branches fit (`x * 2` vs `x * 3`), small constants break the tie;
otherwise the note says "kept one branch (then or else: ambiguous)". The control-flow nodes
inside the kept branch (or inside each unrolled iteration) are then aligned with B's
unmatched nodes at that level, so an If folded around a Loop still finds the Loop.

JSON (`CompareReport.to_json_dict()`, `cfexplore compare A.onnx B.onnx --json`):

```json
{
  "a": {"label": "script.onnx", "nodes": 4, "total_nodes": 8,
        "control_flow": {"If": 1, "Loop": 0, "Scan": 0, "SequenceMap": 0},
        "ops": {"Add": 1, "Cast": 1, "Constant": 1, "If": 1}},
  "b": {"label": "trace.onnx", "nodes": 4, "total_nodes": 4,
        "control_flow": {"If": 0, "Loop": 0, "Scan": 0, "SequenceMap": 0},
        "ops": {"Add": 1, "Constant": 2, "Mul": 1}},
  "op_diff": {"only_a": {"Cast": 1, "If": 1}, "only_b": {"Constant": 1, "Mul": 1}},
  "summary": {"same": 0, "folded": 1, "unrolled": 0, "only-in-a": 0, "only-in-b": 0},
  "rows": [
    {
      "kind": "folded",
      "op": "If",
      "depth": 0,
      "a": {"path": "1", "name": "/If",
            "branches": [{"key": "then_branch", "nodes": 2, "ops": {"Constant": 1, "Mul": 1}},
                         {"key": "else_branch", "nodes": 2, "ops": {"Constant": 1, "Mul": 1}}]},
      "b": null,
      "message": "B kept then_branch (Mul; told apart by constants)",
      "details": {"kept": "then_branch", "how": "constants",
                  "candidates": ["then_branch", "else_branch"], "coverage": 1.0,
                  "surplus": {"Constant": 1, "Mul": 1}}
    }
  ]
}
```

- `a`/`b`: `nodes` counts the main graph's nodes, `total_nodes` every node with subgraphs
  and inlined function bodies; `control_flow` as in `cfexplore tree`; `ops` the main
  graph's op Counter (function bodies inlined, subgraphs not).
- `op_diff`: main-graph op counts A has beyond B (`only_a`) and B beyond A (`only_b`).
- `rows[].a`/`rows[].b`: the node on that side (`null` when it has none); `path` as in
  `cfexplore tree` (`3/body/0`); `branches[].ops` counts everything inside a branch.
- `rows[].depth`: nesting level, for indentation; rows are in display order (a node's rows
  are followed by those of its subgraphs).
- `rows[].details` by kind:
  - `same`: `similarity` (0-1), `branch_diff` (`{key: {"only_a": {...}, "only_b": {...}}}`
    for branches whose op counts differ), and `moved_from` when the node sits inside a
    folded If or unrolled Loop on one side (`{"side": "a", "path": "0", "op": "If",
    "name": "/If", "branch": "then_branch"}`; for a Loop `"iteration": 1, 2, …`
    instead of `"branch"`).
  - `folded`, and `only-in-b` for an If: `kept` (a branch key or `null`), `how` (`ops`,
    `constants`, `partial`, `ambiguous`, `none`), `candidates`, `coverage` (share of the
    kept branch's ops found), `surplus` (the other side's extra ops at that level).
  - `unrolled`, and `only-in-a`/`only-in-b` for a Loop/Scan/SequenceMap: `k` (or `null`),
    `exact`, `body_ops`, `surplus`.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import onnx
from onnx import AttributeProto, NodeProto, TensorProto
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cfexplore.errors import EXIT_OK, EXIT_USAGE
from cfexplore.graph.tree import (
    CONTROL_FLOW_OPS,
    GraphError,
    GraphItem,
    ItemPath,
    NodeItem,
    OnnxTree,
    path_to_str,
)
from cfexplore.termtext import safe_text

RowKind = Literal["same", "folded", "unrolled", "only-in-a", "only-in-b"]
ROW_KINDS: tuple[RowKind, ...] = ("same", "folded", "unrolled", "only-in-a", "only-in-b")

NOISE_OPS = frozenset({"Identity", "Constant"})
"""Ops ignored when looking for a branch or loop body in the other model's graph: they are
plumbing (loop-carried pass-through) or move between Constant nodes and initializers."""

MIN_SIMILARITY = 0.2
"""Two same-type control-flow nodes with differently named nodes match only above this."""

_DP_LIMIT = 1_000_000
"""Above this many node pairs at one level, align by op type (difflib) instead."""

_SMALL_CONSTANT = 64
_MAX_OPS_SHOWN = 4
_LOOP_OPS = frozenset(op for op in CONTROL_FLOW_OPS if op != "If")

_KIND_STYLE: dict[str, str] = {
    "same": "green",
    "folded": "bold yellow",
    "unrolled": "bold yellow",
    "only-in-a": "bold red",
    "only-in-b": "bold red",
}


# --------------------------------------------------------------------------- skeleton


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
            f"{_short_key(b.key)} {b.total_nodes} op{'' if b.total_nodes == 1 else 's'}"
            for b in self.branches
        ]
        return f"{self.op} {self.name}" + (f" ({', '.join(parts)})" if parts else "")

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "path": path_to_str(self.path),
            "name": self.name,
            "branches": [
                {"key": b.key, "nodes": b.total_nodes, "ops": _sorted_counts(b.total_ops)}
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


# --------------------------------------------------------------------------- results


@dataclass
class ModelCounts:
    """Size and control-flow totals of one model, for the report's header."""

    label: str
    nodes: int
    """Nodes in the main graph."""
    total_nodes: int
    """Nodes everywhere: subgraphs and inlined function bodies included."""
    control_flow: dict[str, int]
    ops: dict[str, int]
    """The main graph's op Counter (function bodies inlined, subgraphs not)."""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "nodes": self.nodes,
            "total_nodes": self.total_nodes,
            "control_flow": dict(self.control_flow),
            "ops": dict(self.ops),
        }


@dataclass
class OpDiff:
    """Main-graph op counts one model has beyond the other."""

    only_a: dict[str, int]
    only_b: dict[str, int]

    def to_json_dict(self) -> dict[str, Any]:
        return {"only_a": dict(self.only_a), "only_b": dict(self.only_b)}


@dataclass
class CompareRow:
    """One control-flow node of A and/or B and what became of it in the other model."""

    kind: RowKind
    a_path: ItemPath | None
    b_path: ItemPath | None
    op: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    depth: int = 0
    """Nesting level in the aligned skeleton (for indentation)."""
    a_node: SkeletonNode | None = field(default=None, repr=False)
    b_node: SkeletonNode | None = field(default=None, repr=False)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "op": self.op,
            "depth": self.depth,
            "a": self.a_node.to_json_dict() if self.a_node else None,
            "b": self.b_node.to_json_dict() if self.b_node else None,
            "message": self.message,
            "details": self.details,
        }


@dataclass
class CompareReport:
    """The aligned control flow of two models, plus their main-graph op difference."""

    a_label: str
    b_label: str
    rows: list[CompareRow]
    counts_a: ModelCounts
    counts_b: ModelCounts
    op_diff: OpDiff

    @property
    def summary(self) -> dict[str, int]:
        """Rows per kind (every kind present, zero when absent)."""
        found = Counter(r.kind for r in self.rows)
        return {k: found.get(k, 0) for k in ROW_KINDS}

    def to_json_dict(self) -> dict[str, Any]:
        """The document described in this module's docstring."""
        return {
            "a": self.counts_a.to_json_dict(),
            "b": self.counts_b.to_json_dict(),
            "op_diff": self.op_diff.to_json_dict(),
            "summary": self.summary,
            "rows": [r.to_json_dict() for r in self.rows],
        }


# --------------------------------------------------------------------------- compare


def compare_models(a: OnnxTree, b: OnnxTree) -> CompareReport:
    """Align the control-flow skeletons of `a` and `b` and classify every difference."""
    ska, skb = build_skeleton(a), build_skeleton(b)
    rows: list[CompareRow] = []
    _Aligner(rows).level(ska, skb, 0)
    counts_a = _model_counts(a, ska)
    counts_b = _model_counts(b, skb)
    op_diff = OpDiff(
        only_a=_sorted_counts(ska.ops - skb.ops), only_b=_sorted_counts(skb.ops - ska.ops)
    )
    return CompareReport(counts_a.label, counts_b.label, rows, counts_a, counts_b, op_diff)


def _model_counts(tree: OnnxTree, sk: SkeletonGraph) -> ModelCounts:
    label = tree.path or tree.model.graph.name or "model"
    return ModelCounts(label, sk.nodes, sk.total_nodes, tree.total_counts, _sorted_counts(sk.ops))


@dataclass
class _Fate:
    """What became of an unmatched node: its row, and children to look for elsewhere."""

    kind: RowKind
    message: str
    details: dict[str, Any]
    promoted: list[tuple[SkeletonNode, dict[str, Any]]] = field(default_factory=list)


class _Aligner:
    """Walks two skeletons in step, appending rows in display order."""

    def __init__(self, rows: list[CompareRow]) -> None:
        self.rows = rows

    def level(self, ga: SkeletonGraph, gb: SkeletonGraph, depth: int) -> None:
        """Align the control-flow nodes of two corresponding graphs (and below)."""
        xs, ys = ga.control_flow, gb.control_flow
        seq = _align(xs, ys)
        ua = [i for i, j in seq if j is None and i is not None]
        ub = [j for i, j in seq if i is None and j is not None]
        surplus_b = _Surplus(gb.ops - ga.ops, gb.constants - ga.constants)
        surplus_a = _Surplus(ga.ops - gb.ops, ga.constants - gb.constants)
        fates_a = {i: _fate(xs[i], surplus_b, "a") for i in ua}
        fates_b = {j: _fate(ys[j], surplus_a, "b") for j in ub}

        # Children of A's folded/unrolled nodes may sit at this level in B, and vice versa.
        moved_a = self._match_promoted(fates_a, ys, ub, "a")
        taken_b = {j for pairs in moved_a.values() for _, j, _ in pairs}
        open_b = {j: f for j, f in fates_b.items() if j not in taken_b}
        still_a = [i for i in ua if not moved_a.get(i)]
        moved_b = self._match_promoted(open_b, xs, still_a, "b")
        taken_a = {i for pairs in moved_b.values() for _, i, _ in pairs}

        for i, j in seq:
            if i is not None and j is not None:
                self.same(xs[i], ys[j], depth, {})
            elif i is not None and i not in taken_a:
                self.unmatched(xs[i], None, fates_a[i], depth)
                for child, jb, origin in moved_a.get(i, []):
                    self.same(child, ys[jb], depth + 1, origin)
            elif j is not None and j not in taken_b:
                self.unmatched(None, ys[j], fates_b[j], depth)
                for child, ia, origin in moved_b.get(j, []):
                    self.same(xs[ia], child, depth + 1, origin)

    def _match_promoted(
        self,
        fates: dict[int, _Fate],
        others: list[SkeletonNode],
        open_idx: list[int],
        side: str,
    ) -> dict[int, list[tuple[SkeletonNode, int, dict[str, Any]]]]:
        """Align promoted children of `side`'s unmatched nodes with the other side's."""
        pool = [
            (owner, child, origin) for owner, f in fates.items() for child, origin in f.promoted
        ]
        if not pool or not open_idx:
            return {}
        cands = [others[k] for k in open_idx]
        kids = [child for _, child, _ in pool]
        pairs = _align(kids, cands) if side == "a" else _align(cands, kids)
        out: dict[int, list[tuple[SkeletonNode, int, dict[str, Any]]]] = {}
        for p, q in pairs:
            if p is None or q is None:
                continue
            kid, cand = (p, q) if side == "a" else (q, p)
            owner, child, origin = pool[kid]
            out.setdefault(owner, []).append((child, open_idx[cand], origin))
        return out

    def same(
        self, x: SkeletonNode, y: SkeletonNode, depth: int, moved_from: dict[str, Any]
    ) -> None:
        details: dict[str, Any] = {"similarity": round(_similarity(x, y), 3)}
        diffs: dict[str, Any] = {}
        notes: list[str] = []
        for bx, by in zip(x.branches, y.branches, strict=False):
            only_a, only_b = bx.total_ops - by.total_ops, by.total_ops - bx.total_ops
            if only_a or only_b:
                diffs[bx.key] = {"only_a": _sorted_counts(only_a), "only_b": _sorted_counts(only_b)}
                sides = [f"{s} +{_ops_text(c)}" for s, c in (("A", only_a), ("B", only_b)) if c]
                notes.append(f"{_short_key(bx.key)}: {'; '.join(sides)}")
        details["branch_diff"] = diffs
        if moved_from:
            details["moved_from"] = moved_from
            owner = "A" if moved_from["side"] == "a" else "B"
            where = moved_from.get("branch") or f"iteration {moved_from.get('iteration')}"
            notes.insert(
                0, f"{owner} has it inside {moved_from['op']} {moved_from['name']} {where}"
            )
        self.rows.append(
            CompareRow("same", x.path, y.path, x.op, " · ".join(notes), details, depth, x, y)
        )
        for bx, by in zip(x.branches, y.branches, strict=False):
            self.level(bx, by, depth + 1)

    def unmatched(
        self, x: SkeletonNode | None, y: SkeletonNode | None, fate: _Fate, depth: int
    ) -> None:
        node = x if x is not None else y
        assert node is not None
        self.rows.append(
            CompareRow(
                fate.kind,
                x.path if x else None,
                y.path if y else None,
                node.op,
                fate.message,
                fate.details,
                depth,
                x,
                y,
            )
        )


# --------------------------------------------------------------------------- alignment


def _similarity(x: SkeletonNode, y: SkeletonNode) -> float:
    """Mean multiset Jaccard of the branches' op Counters (1.0 for two empty graphs)."""
    if not x.branches:
        return 1.0
    scores = []
    for bx, by in zip(x.branches, y.branches, strict=False):
        union = sum((bx.total_ops | by.total_ops).values())
        inter = sum((bx.total_ops & by.total_ops).values())
        scores.append(1.0 if union == 0 else inter / union)
    return sum(scores) / len(scores)


def _pair_score(x: SkeletonNode, y: SkeletonNode) -> float | None:
    """Score for aligning two nodes (higher is better), or None if they cannot match."""
    if x.op != y.op or [b.key for b in x.branches] != [b.key for b in y.branches]:
        return None
    sim = _similarity(x, y)
    same_name = bool(x.name) and x.name == y.name
    if sim < MIN_SIMILARITY and not same_name:
        return None
    return 1.0 + sim + (0.01 if same_name else 0.0)


def _signature(node: SkeletonNode) -> tuple[Any, ...]:
    """Op type and every branch's op Counter: equal signatures are interchangeable nodes."""
    return (node.op, tuple((b.key, tuple(sorted(b.total_ops.items()))) for b in node.branches))


def _align(
    xs: Sequence[SkeletonNode], ys: Sequence[SkeletonNode]
) -> list[tuple[int | None, int | None]]:
    """Order-preserving alignment maximising matched pairs, then their similarity.

    A common prefix and suffix of identical nodes is matched directly; the middle gets a
    weighted LCS (same-type pairs score 1 + similarity, gaps 0), or an op-type difflib
    alignment when it is wider than `_DP_LIMIT` pairs.
    """
    n, m = len(xs), len(ys)
    sx, sy = [_signature(x) for x in xs], [_signature(y) for y in ys]
    lo = 0
    while lo < min(n, m) and sx[lo] == sy[lo]:
        lo += 1
    hi = 0
    while hi < min(n, m) - lo and sx[n - 1 - hi] == sy[m - 1 - hi]:
        hi += 1
    out: list[tuple[int | None, int | None]] = [(k, k) for k in range(lo)]
    mid_x, mid_y = xs[lo : n - hi], ys[lo : m - hi]
    if len(mid_x) * len(mid_y) > _DP_LIMIT:
        middle = _align_by_type(mid_x, mid_y)
    else:
        middle = _align_dp(mid_x, mid_y, sx[lo : n - hi], sy[lo : m - hi])
    for i, j in middle:
        out.append((None if i is None else i + lo, None if j is None else j + lo))
    out.extend((n - hi + k, m - hi + k) for k in range(hi))
    return out


def _align_dp(
    xs: Sequence[SkeletonNode],
    ys: Sequence[SkeletonNode],
    sx: Sequence[tuple[Any, ...]],
    sy: Sequence[tuple[Any, ...]],
) -> list[tuple[int | None, int | None]]:
    """Weighted LCS; pair scores are memoized by signature (wide levels repeat them)."""
    n, m = len(xs), len(ys)
    if n == 0 or m == 0:
        return [(i, None) for i in range(n)] + [(None, j) for j in range(m)]
    memo: dict[tuple[Any, ...], float | None] = {}

    def pair_score(i: int, j: int) -> float | None:
        x, y = xs[i], ys[j]
        if x.op != y.op:
            return None
        key = (sx[i], sy[j], bool(x.name) and x.name == y.name)
        if key not in memo:
            memo[key] = _pair_score(x, y)
        return memo[key]

    pair = [[pair_score(i, j) for j in range(m)] for i in range(n)]
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below, prow = score[i], score[i + 1], pair[i]
        for j in range(m - 1, -1, -1):
            best = below[j] if below[j] > row[j + 1] else row[j + 1]
            s = prow[j]
            if s is not None and s + below[j + 1] > best:
                best = s + below[j + 1]
            row[j] = best
    out: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n and j < m:
        s = pair[i][j]
        if s is not None and score[i][j] == s + score[i + 1][j + 1]:
            out.append((i, j))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            out.append((i, None))
            i += 1
        else:
            out.append((None, j))
            j += 1
    out.extend((k, None) for k in range(i, n))
    out.extend((None, k) for k in range(j, m))
    return out


def _align_by_type(
    xs: Sequence[SkeletonNode], ys: Sequence[SkeletonNode]
) -> list[tuple[int | None, int | None]]:
    """difflib alignment on op types alone, for levels too wide for the weighted one."""

    def sig(node: SkeletonNode) -> str:
        return f"{node.op}/{len(node.branches)}"

    matcher = difflib.SequenceMatcher(None, [sig(x) for x in xs], [sig(y) for y in ys], False)
    out: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                if _pair_score(xs[i], ys[j]) is None:
                    out.extend([(i, None), (None, j)])
                else:
                    out.append((i, j))
        else:
            out.extend((i, None) for i in range(i1, i2))
            out.extend((None, j) for j in range(j1, j2))
    return out


# --------------------------------------------------------------------------- fates


@dataclass
class _Surplus:
    """The other model's extra ops (and constants) at one level, consumed as explained."""

    ops: Counter[str]
    constants: Counter[str]


def _core(ops: Counter[str]) -> Counter[str]:
    return Counter({op: n for op, n in ops.items() if op not in NOISE_OPS and n > 0})


def _fate(node: SkeletonNode, surplus: _Surplus, side: str) -> _Fate:
    """Classify an unmatched node of `side` against the other side's surplus at its level."""
    other = "B" if side == "a" else "A"
    if node.op == "If" and len(node.branches) >= 2:
        return _fold_fate(node, surplus, side, other)
    if node.op in _LOOP_OPS and len(node.branches) == 1:
        return _unroll_fate(node, surplus, side, other)
    kind: RowKind = "only-in-a" if side == "a" else "only-in-b"
    return _Fate(kind, f"{other} has no {node.op} here", {})


def _fold_fate(node: SkeletonNode, surplus: _Surplus, side: str, other: str) -> _Fate:
    """Which branch of an If the other model kept inline, judged by its surplus ops."""
    snapshot = _sorted_counts(surplus.ops)
    scored = []
    for b in node.branches:
        need = _core(b.ops)
        have = need & surplus.ops
        size = sum(need.values())
        coverage = 1.0 if size == 0 else sum(have.values()) / size
        scored.append((b, need, coverage, size))
    full = [s for s in scored if s[2] == 1.0]
    how = "none"
    chosen = None
    candidates: list[str] = []
    if full:
        biggest = max(s[3] for s in full)
        tied = [s for s in full if s[3] == biggest]
        candidates = [s[0].key for s in tied]
        if len(tied) == 1:
            chosen, how = tied[0], "ops"
        else:
            overlaps = [sum((s[0].constants & surplus.constants).values()) for s in tied]
            best = max(overlaps)
            if best > 0 and overlaps.count(best) == 1:
                chosen, how = tied[overlaps.index(best)], "constants"
            else:
                how = "ambiguous"
    else:
        best_partial = max(scored, key=lambda s: s[2])
        if best_partial[2] >= 0.5:
            chosen, how = best_partial, "partial"
            candidates = [best_partial[0].key]
    details: dict[str, Any] = {
        "kept": chosen[0].key if chosen else None,
        "how": how,
        "candidates": candidates,
        "coverage": round(chosen[2], 3) if chosen else 0.0,
        "surplus": snapshot,
    }
    promoted: list[tuple[SkeletonNode, dict[str, Any]]] = []
    if chosen is not None:
        branch, need, coverage, _ = chosen
        surplus.ops -= need
        surplus.constants -= branch.constants
        what = _ops_text(need) or _ops_text(branch.ops) or "empty"
        if how == "constants":
            what += "; told apart by constants"
        elif how == "partial":
            found = sum((need & Counter(snapshot)).values())
            what += f"; {found} of {sum(need.values())} ops found"
        verb = "kept" if how != "partial" else "seems to have kept"
        text = f"{other} {verb} {branch.key} ({what})"
        origin = {
            "side": side,
            "path": path_to_str(node.path),
            "op": node.op,
            "name": node.name,
            "branch": branch.key,
        }
        promoted = [(c, origin) for c in branch.control_flow]
    elif how == "ambiguous":
        first = next(sc for sc in scored if sc[0].key == candidates[0])
        surplus.ops -= first[1]
        keys = " or ".join(_short_key(k) for k in candidates)
        text = f"{other} kept one branch ({keys}: ambiguous)"
    else:
        text = f"{other} has neither branch's ops (removed or rewritten)"
    if side == "a":
        return _Fate("folded", text, details, promoted)
    return _Fate("only-in-b", f"A has no If here; {text}", details, promoted)


def _unroll_fate(node: SkeletonNode, surplus: _Surplus, side: str, other: str) -> _Fate:
    """Whether the other model repeats this loop's body ops k times at the same level."""
    body = node.branches[0]
    core = _core(body.ops)
    s = surplus.ops
    best_k, best_score = 0, 0.0
    for k in sorted({s[op] // n for op, n in core.items() if s[op] >= n}):
        explained = sum(min(s[op], k * n) for op, n in core.items())
        missing = sum(max(0, k * n - s[op]) for op, n in core.items())
        score = explained - 0.5 * missing
        if k >= 1 and score > best_score:
            best_k, best_score = k, score
    exact = best_k > 0 and all(s[op] == best_k * n for op, n in core.items())
    details: dict[str, Any] = {
        "k": best_k or None,
        "exact": exact,
        "body_ops": _sorted_counts(body.ops),
        "surplus": _sorted_counts(s),
    }
    only: RowKind = "only-in-a" if side == "a" else "only-in-b"
    if best_k == 0:
        why = "its body has no ops to look for" if not core else "no copy of its body ops"
        return _Fate(only, f"{other} has no {node.op} here and {why}", details)
    surplus.ops -= Counter({op: best_k * n for op, n in core.items()})
    times = f"{best_k}×" if exact else f"≈{best_k}×"
    text = f"{other} repeats the body {times} ({_ops_text(core)})"
    origin = {"side": side, "path": path_to_str(node.path), "op": node.op, "name": node.name}
    promoted = [
        (c, {**origin, "iteration": it + 1}) for it in range(best_k) for c in body.control_flow
    ]
    if side == "a":
        return _Fate("unrolled", text, details, promoted)
    return _Fate(only, f"A has no {node.op} here; {text}", details, promoted)


# --------------------------------------------------------------------------- text


def _short_key(key: str) -> str:
    return key.removesuffix("_branch")


def _sorted_counts(c: Counter[str] | dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in sorted(c.items()) if v > 0}


def _ops_text(c: Counter[str]) -> str:
    """`Add×3, Mul` — most frequent first, at most a few op types."""
    items = sorted(((op, n) for op, n in c.items() if n > 0), key=lambda t: (-t[1], t[0]))
    parts = [op if n == 1 else f"{op}×{n}" for op, n in items[:_MAX_OPS_SHOWN]]
    if len(items) > _MAX_OPS_SHOWN:
        parts.append(f"+{len(items) - _MAX_OPS_SHOWN} more")
    return ", ".join(parts)


def _counts_line(c: ModelCounts) -> Text:
    cf = " · ".join(
        f"{op} {c.control_flow.get(op, 0)}"
        for op in CONTROL_FLOW_OPS
        if op != "SequenceMap" or c.control_flow.get(op, 0)
    )
    return Text(f"{c.nodes:,} nodes in the main graph, {c.total_nodes:,} in all · {cf}")


def render_compare(report: CompareReport) -> RenderableType:
    """Header lines (both models, main-graph op difference) and the A | B | verdict table."""
    header = Text()
    for side, c in (("A", report.counts_a), ("B", report.counts_b)):
        header.append(f"{side} ", style="bold")
        header.append(c.label, style="bold")
        header.append("  ")
        header.append_text(_counts_line(c))
        header.append("\n")
    diff = report.op_diff
    if diff.only_a or diff.only_b:
        header.append("main graph: ", style="dim")
        header.append(f"only in A {_ops_text(Counter(diff.only_a)) or '—'}")
        header.append(" · ")
        header.append(f"only in B {_ops_text(Counter(diff.only_b)) or '—'}")
    else:
        header.append("main graph: same op counts", style="dim")
    if not report.rows:
        return Group(header, Text("no control flow in either model", style="dim"))
    table = Table(show_lines=False, expand=False)
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("note", overflow="fold")
    for r in report.rows:
        indent = "  " * r.depth
        cells = [
            Text(indent + safe_text(n.label(), 120))
            if n is not None
            else Text(indent + "—", style="dim")
            for n in (r.a_node, r.b_node)
        ]
        table.add_row(*cells, Text(r.kind, style=_KIND_STYLE[r.kind]), Text(safe_text(r.message)))
    summary = " · ".join(f"{k} {n}" for k, n in report.summary.items() if n)
    return Group(header, table, Text(summary, style="dim"))


def cmd_compare(a_path: str, b_path: str, as_json: bool) -> int:
    """`cfexplore compare A.onnx B.onnx [--json]`: prints the report; 2 on a bad file."""
    try:
        a = OnnxTree.open(a_path)
        b = OnnxTree.open(b_path)
    except GraphError as exc:
        sys.stderr.write(f"cfexplore: {exc}\n")
        return EXIT_USAGE
    report = compare_models(a, b)
    if as_json:
        print(json.dumps(report.to_json_dict(), indent=2))
    else:
        from rich.console import Console

        Console(soft_wrap=False).print(render_compare(report))
    return EXIT_OK


__all__ = [
    "CompareReport",
    "CompareRow",
    "ModelCounts",
    "OpDiff",
    "SkeletonGraph",
    "SkeletonNode",
    "build_skeleton",
    "cmd_compare",
    "compare_models",
    "render_compare",
]
