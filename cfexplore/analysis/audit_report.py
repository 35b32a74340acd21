"""What the structural audit finds: each flag, its kind, and one model's report.

The JSON these produce (`to_json_dict`) is described in `cfexplore.analysis.audit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cfexplore.graph.values import ItemPath

FlagKind = Literal["constant-if", "constant-loop", "unrolled-loop"]
FLAG_KINDS: tuple[FlagKind, ...] = ("constant-if", "constant-loop", "unrolled-loop")
"""Every kind of finding, in the order summaries list them."""


@dataclass
class AuditFlag:
    """One finding: a node (or a run of nodes starting there) and why it is static."""

    kind: FlagKind
    path: ItemPath
    """The `OnnxTree` item path of the node (for `unrolled-loop`, the run's first node)."""
    path_str: str
    node_name: str
    """The node's name, or `op_type#index` when it has none (as the tree shows it)."""
    op_type: str
    message: str
    """One readable sentence."""
    details: dict[str, Any] = field(default_factory=dict)
    """JSON-friendly facts behind the message (see `cfexplore.analysis.audit`)."""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": list(self.path),
            "path_str": self.path_str,
            "node_name": self.node_name,
            "op_type": self.op_type,
            "message": self.message,
            "details": self.details,
        }


@dataclass
class OptimizeCounts:
    """Control-flow counts of a dynamo export before and after `optimize()`."""

    before: dict[str, int]
    after: dict[str, int]
    folded: list[str]
    """Each op whose count changed, e.g. `If: 1 -> 0`."""

    def to_json_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "folded": self.folded}


@dataclass
class AuditReport:
    """All findings of one model, in tree display order, plus its control-flow totals."""

    flags: list[AuditFlag]
    counts: dict[str, int]
    """If/Loop/Scan/SequenceMap over the inlined tree (`OnnxTree.total_counts`)."""
    optimize: OptimizeCounts | None = None

    def by_path(self) -> dict[ItemPath, list[AuditFlag]]:
        """Flags grouped by node path, for badging tree rows."""
        out: dict[ItemPath, list[AuditFlag]] = {}
        for flag in self.flags:
            out.setdefault(flag.path, []).append(flag)
        return out

    def kind_counts(self) -> dict[str, int]:
        """Number of flags of each kind (every kind present, zero when absent)."""
        out: dict[str, int] = dict.fromkeys(FLAG_KINDS, 0)
        for flag in self.flags:
            out[flag.kind] += 1
        return out

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "flags": [f.to_json_dict() for f in self.flags],
            "summary": self.kind_counts(),
            "counts": dict(self.counts),
            "optimize": None if self.optimize is None else self.optimize.to_json_dict(),
        }
