"""Which control-flow nodes of two graphs correspond: an order-preserving, weighted alignment."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from cfexplore.analysis.compare_skeleton import SkeletonNode

MIN_SIMILARITY = 0.2
"""Two same-type control-flow nodes with differently named nodes match only above this."""

_DP_LIMIT = 1_000_000
"""Above this many node pairs at one level, align by op type (difflib) instead."""


def similarity(x: SkeletonNode, y: SkeletonNode) -> float:
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
    sim = similarity(x, y)
    same_name = bool(x.name) and x.name == y.name
    if sim < MIN_SIMILARITY and not same_name:
        return None
    return 1.0 + sim + (0.01 if same_name else 0.0)


def _signature(node: SkeletonNode) -> tuple[Any, ...]:
    """Op type and every branch's op Counter: equal signatures are interchangeable nodes."""
    return (node.op, tuple((b.key, tuple(sorted(b.total_ops.items()))) for b in node.branches))


def align(
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
