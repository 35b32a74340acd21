"""Find a class's source without importing it, for the syntax-highlighted source view."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from cfexplore.target.source import control_flow_lines, find_class, parse_file


@dataclass
class ClassSource:
    """A class's source text, where it starts, and its control-flow lines."""

    path: str
    start: int
    code: str
    control_lines: list[int]


def module_path(module: str) -> str | None:
    """The file of `module` without importing it (so torch stays unimported)."""
    spec = importlib.util.find_spec(module)
    return spec.origin if spec else None


def class_source(path: str, class_name: str) -> ClassSource | None:
    """The class body from `path` (decorators included), or None if not found."""
    try:
        tree = parse_file(path)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    node = find_class(tree, class_name)
    if node is None:
        return None
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    end = node.end_lineno or node.lineno
    code = "\n".join(lines[start - 1 : end])
    return ClassSource(path, start, code, list(control_flow_lines(node)))
