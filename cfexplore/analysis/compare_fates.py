"""What became of an unmatched node: an If folded to one branch, a loop unrolled k times, or gone.

Judged from the other model's *surplus* ops at the same level (its op counts there minus
this model's), consumed as each node is explained.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cfexplore.analysis.compare_ops import ops_text, short_key, sorted_counts
from cfexplore.analysis.compare_report import RowKind
from cfexplore.analysis.compare_skeleton import SkeletonNode
from cfexplore.graph.describe import path_to_str
from cfexplore.graph.values import CONTROL_FLOW_OPS

NOISE_OPS = frozenset({"Identity", "Constant"})
"""Ops ignored when looking for a branch or loop body in the other model's graph: they are
plumbing (loop-carried pass-through) or move between Constant nodes and initializers."""

_LOOP_OPS = frozenset(op for op in CONTROL_FLOW_OPS if op != "If")


@dataclass
class Fate:
    """What became of an unmatched node: its row, and children to look for elsewhere."""

    kind: RowKind
    message: str
    details: dict[str, Any]
    promoted: list[tuple[SkeletonNode, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Surplus:
    """The other model's extra ops (and constants) at one level, consumed as explained."""

    ops: Counter[str]
    constants: Counter[str]


def _core(ops: Counter[str]) -> Counter[str]:
    return Counter({op: n for op, n in ops.items() if op not in NOISE_OPS and n > 0})


def fate_of(node: SkeletonNode, surplus: Surplus, side: str) -> Fate:
    """Classify an unmatched node of `side` against the other side's surplus at its level."""
    other = "B" if side == "a" else "A"
    if node.op == "If" and len(node.branches) >= 2:
        return _fold_fate(node, surplus, side, other)
    if node.op in _LOOP_OPS and len(node.branches) == 1:
        return _unroll_fate(node, surplus, side, other)
    kind: RowKind = "only-in-a" if side == "a" else "only-in-b"
    return Fate(kind, f"{other} has no {node.op} here", {})


def _fold_fate(node: SkeletonNode, surplus: Surplus, side: str, other: str) -> Fate:
    """Which branch of an If the other model kept inline, judged by its surplus ops."""
    snapshot = sorted_counts(surplus.ops)
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
        what = ops_text(need) or ops_text(branch.ops) or "empty"
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
        keys = " or ".join(short_key(k) for k in candidates)
        text = f"{other} kept one branch ({keys}: ambiguous)"
    else:
        text = f"{other} has neither branch's ops (removed or rewritten)"
    if side == "a":
        return Fate("folded", text, details, promoted)
    return Fate("only-in-b", f"A has no If here; {text}", details, promoted)


def _unroll_fate(node: SkeletonNode, surplus: Surplus, side: str, other: str) -> Fate:
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
        "body_ops": sorted_counts(body.ops),
        "surplus": sorted_counts(s),
    }
    only: RowKind = "only-in-a" if side == "a" else "only-in-b"
    if best_k == 0:
        why = "its body has no ops to look for" if not core else "no copy of its body ops"
        return Fate(only, f"{other} has no {node.op} here and {why}", details)
    surplus.ops -= Counter({op: best_k * n for op, n in core.items()})
    times = f"{best_k}×" if exact else f"≈{best_k}×"
    text = f"{other} repeats the body {times} ({ops_text(core)})"
    origin = {"side": side, "path": path_to_str(node.path), "op": node.op, "name": node.name}
    promoted = [
        (c, {**origin, "iteration": it + 1}) for it in range(best_k) for c in body.control_flow
    ]
    if side == "a":
        return Fate("unrolled", text, details, promoted)
    return Fate(only, f"A has no {node.op} here; {text}", details, promoted)
