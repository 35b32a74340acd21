"""What the compare finds: one row per control-flow node, model totals, the report.

The JSON these produce (`to_json_dict`) is described in `cfexplore.analysis.compare`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from cfexplore.analysis.compare_skeleton import SkeletonNode
from cfexplore.graph.values import ItemPath

RowKind = Literal["same", "folded", "unrolled", "only-in-a", "only-in-b"]
ROW_KINDS: tuple[RowKind, ...] = ("same", "folded", "unrolled", "only-in-a", "only-in-b")


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
        """The document described in `cfexplore.analysis.compare`'s docstring."""
        return {
            "a": self.counts_a.to_json_dict(),
            "b": self.counts_b.to_json_dict(),
            "op_diff": self.op_diff.to_json_dict(),
            "summary": self.summary,
            "rows": [r.to_json_dict() for r in self.rows],
        }
