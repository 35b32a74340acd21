"""The whole-model pass behind the Graph screen's summary line: lint warnings, control-flow
counts and the audit, run in a worker process.

Each of these walks every node of an untrusted model (100,000 nodes: seconds of Python,
onnx's checker in C holding the GIL, and garbage collections over a heap of protobuf
wrappers). In the app's process they made the UI miss its frames; in a worker (memory
and time limited, niced) they cost the UI nothing. The worker opens the file the way the
app does (`OnnxTree.open`), so the audit's node paths match the app's tree rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ANALYSE_TIMEOUT_S = 300.0
"""Time limit for the whole pass on one file (then the worker is replaced)."""


@dataclass
class ModelAnalysis:
    """What the pass found: lint lines, the summary line, the audit (or why it failed)."""

    warnings: list[str] = field(default_factory=list)
    summary: str = ""
    audit: Any = None
    """cfexplore.analysis.audit.AuditReport, or None when the audit failed (see `audit_error`)."""
    audit_error: str | None = None


IN_PROCESS_MAX_BYTES = 1 << 20
"""Files up to this size are analysed in the caller's thread: a worker round trip (another
parse, the IPC) costs more than the pass on a small model, and its walk is too short to
make the UI miss a frame."""


def analyse_in_worker(path: str) -> ModelAnalysis:
    """The worker side: open as the app does, then `analyse_tree`."""
    from cfexplore.graph.tree import OnnxTree

    return analyse_tree(OnnxTree.open(path, lint=False))


def analyse_tree(tree: Any) -> ModelAnalysis:
    """Lint, count and audit an opened `OnnxTree` (a small file's, in the app's thread)."""
    from cfexplore.analysis.audit import audit_model
    from cfexplore.graph.lint import model_warnings
    from cfexplore.graph.summary import summary_line

    lint = model_warnings(tree.model)  # the caller adds them to its tree's warnings
    out = ModelAnalysis(lint, summary_line(tree, len(lint)))
    try:
        out.audit = audit_model(tree.model, tree)
    except Exception as exc:  # an audit bug must not stop the browsing
        out.audit_error = f"audit failed: {type(exc).__name__}: {exc}"
    return out
