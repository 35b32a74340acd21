"""The compare's walk: two skeletons in step, level by level, one row per control-flow node."""

from __future__ import annotations

from typing import Any

from cfexplore.analysis.compare_fates import Fate, Surplus, fate_of
from cfexplore.analysis.compare_match import align, similarity
from cfexplore.analysis.compare_ops import ops_text, short_key, sorted_counts
from cfexplore.analysis.compare_report import CompareRow
from cfexplore.analysis.compare_skeleton import SkeletonGraph, SkeletonNode


class Aligner:
    """Walks two skeletons in step, appending rows in display order."""

    def __init__(self, rows: list[CompareRow]) -> None:
        self.rows = rows

    def level(self, ga: SkeletonGraph, gb: SkeletonGraph, depth: int) -> None:
        """Align the control-flow nodes of two corresponding graphs (and below)."""
        xs, ys = ga.control_flow, gb.control_flow
        seq = align(xs, ys)
        ua = [i for i, j in seq if j is None and i is not None]
        ub = [j for i, j in seq if i is None and j is not None]
        surplus_b = Surplus(gb.ops - ga.ops, gb.constants - ga.constants)
        surplus_a = Surplus(ga.ops - gb.ops, ga.constants - gb.constants)
        fates_a = {i: fate_of(xs[i], surplus_b, "a") for i in ua}
        fates_b = {j: fate_of(ys[j], surplus_a, "b") for j in ub}

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
        fates: dict[int, Fate],
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
        pairs = align(kids, cands) if side == "a" else align(cands, kids)
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
        details: dict[str, Any] = {"similarity": round(similarity(x, y), 3)}
        diffs: dict[str, Any] = {}
        notes: list[str] = []
        for bx, by in zip(x.branches, y.branches, strict=False):
            only_a, only_b = bx.total_ops - by.total_ops, by.total_ops - bx.total_ops
            if only_a or only_b:
                diffs[bx.key] = {"only_a": sorted_counts(only_a), "only_b": sorted_counts(only_b)}
                sides = [f"{s} +{ops_text(c)}" for s, c in (("A", only_a), ("B", only_b)) if c]
                notes.append(f"{short_key(bx.key)}: {'; '.join(sides)}")
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
        self, x: SkeletonNode | None, y: SkeletonNode | None, fate: Fate, depth: int
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
