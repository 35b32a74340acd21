"""Badges for tree rows: the branch trace of a sweep and structural audit flags."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from cfexplore.graph.describe import path_from_str
from cfexplore.graph.values import ItemPath


def trace_badges(trace: dict[str, Any]) -> dict[ItemPath, Text]:
    """`then 3/4 · else 1/4` / `trip 0..3` on each If/Loop; `untested` on a branch never run."""
    out: dict[ItemPath, Text] = {}
    for key, node in trace.items():
        path = path_from_str(key)
        out[path] = Text(f"[{node.summary()}]", "yellow" if node.untested else "cyan")
        if node.untested in ("then_branch", "else_branch"):
            out[(*path, node.untested)] = Text("untested in the sweep", "bold yellow")
        elif node.untested == "both branches":
            for branch in ("then_branch", "else_branch"):
                out[(*path, branch)] = Text("untested in the sweep", "bold yellow")
    return out


def merge_badges(*parts: dict[ItemPath, Text]) -> dict[ItemPath, Text]:
    """One badge per path, joining texts from several sources with a space."""
    out: dict[ItemPath, Text] = {}
    for part in parts:
        for path, text in part.items():
            out[path] = Text.assemble(out[path], " ", text) if path in out else text
    return out


AUDIT_LABEL = {
    "constant-if": "⚠ constant cond",
    "constant-loop": "⚠ constant trip",
    "unrolled-loop": "⚠ unrolled loop",
}


def audit_badges(report: Any) -> dict[ItemPath, Text]:
    """A warning badge on every node the structural audit flagged (None: no badges)."""
    if report is None:
        return {}
    out: dict[ItemPath, Text] = {}
    for path, flags in report.by_path().items():
        kinds = sorted({AUDIT_LABEL.get(f.kind, f.kind) for f in flags})
        out[path] = Text(" ".join(kinds), "bold yellow")
    return out
