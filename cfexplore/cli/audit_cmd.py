"""`cfexplore audit FILE.onnx [--json]`: audit one file and print the flags."""

from __future__ import annotations

import json
import sys

from cfexplore.analysis.audit import audit_model
from cfexplore.errors import EXIT_OK, EXIT_USAGE, GraphError
from cfexplore.graph.tree import OnnxTree
from cfexplore.render.audit_text import render_audit


def cmd_audit(path: str, as_json: bool) -> int:
    """`cfexplore audit FILE.onnx [--json]`: print the audit; 2 when the file cannot be read."""
    try:
        tree = OnnxTree.open(path)
    except GraphError as exc:
        sys.stderr.write(f"cfexplore: {exc}\n")
        return EXIT_USAGE
    report = audit_model(tree.model, tree)
    if as_json:
        sys.stdout.write(json.dumps(report.to_json_dict(), indent=2) + "\n")
    else:
        from rich.console import Console

        Console(soft_wrap=False).print(render_audit(report))
    return EXIT_OK
