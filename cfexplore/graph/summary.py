"""One-line plain-text facts about a whole `OnnxTree`: the summary line and its parts."""

from __future__ import annotations

import os

from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import CONTROL_FLOW_OPS
from cfexplore.termtext import safe_text

_MAX_HEADER_TEXT = 100
"""Characters of a model name or producer shown in the summary line and root label."""


def format_counts(counts: dict[str, int]) -> str:
    """`If 2 · Loop 1 · Scan 0` (SequenceMap only when present)."""
    parts = [
        f"{op} {counts.get(op, 0):,}"
        for op in CONTROL_FLOW_OPS
        if op != "SequenceMap" or counts.get(op, 0)
    ]
    return " · ".join(parts)


def model_name(tree: OnnxTree) -> str:
    return safe_text(tree.path or tree.model.graph.name or "model")


def producer_text(tree: OnnxTree) -> str:
    return safe_text(tree.producer, _MAX_HEADER_TEXT)


def opset_text(tree: OnnxTree) -> str:
    version = tree.opset_imports.get("", tree.opset_imports.get("ai.onnx"))
    return f"opset {version}" if version is not None else "no default opset"


def summary_line(tree: OnnxTree, more_warnings: int = 0) -> str:
    """One plain line: file, node count, control-flow totals, opset, producer, and the
    number of warnings (the tree's, plus `more_warnings` found apart from it)."""
    nodes = tree.root.node_count
    parts = [
        f"{safe_text(os.path.basename(model_name(tree)), _MAX_HEADER_TEXT)}: "
        f"{nodes:,} node{'s' if nodes != 1 else ''}",
        format_counts(tree.total_counts),
        opset_text(tree),
    ]
    if tree.producer:
        parts.append(producer_text(tree))
    count = len(tree.warnings) + more_warnings
    if count:
        parts.append(f"{count} warning{'s' if count != 1 else ''}")
    return " · ".join(parts)
