"""`cfexplore compare A.onnx B.onnx [--json]`: compare two files' control flow and print it."""

from __future__ import annotations

import json
import sys

from cfexplore.analysis.compare import compare_models
from cfexplore.errors import EXIT_OK, EXIT_USAGE, GraphError
from cfexplore.graph.tree import OnnxTree
from cfexplore.render.compare_text import render_compare


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
