"""Find control-flow lines in Python source with `ast`, without importing the code."""

from __future__ import annotations

import ast
from pathlib import Path

from cfexplore.spec import Construct


def find_class(tree: ast.Module, class_name: str) -> ast.ClassDef | None:
    """The top-level class called `class_name`, or None."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return node
    return None


def parse_file(path: str | Path) -> ast.Module:
    """Parse a Python file; raises SyntaxError/OSError/UnicodeDecodeError."""
    text = Path(path).read_text(encoding="utf-8")
    return ast.parse(text, filename=str(path))


def _names_in(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
    return names


def control_flow_lines(cls: ast.AST) -> dict[int, set[str]]:
    """Line -> names read by the condition, for every if/for/while statement and every
    torch.cond/while_loop/fori_loop call in `cls` (a class, or any parsed code)."""
    out: dict[int, set[str]] = {}
    for node in ast.walk(cls):
        if isinstance(node, ast.If | ast.While):
            out[node.lineno] = _names_in(node.test)
        elif isinstance(node, ast.For):
            out[node.lineno] = _names_in(node.iter)
        elif isinstance(node, ast.Call):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if fname in {"cond", "while_loop", "fori_loop"} and node.args:
                out[node.lineno] = _names_in(node.args[0]) | _names_in(node)
    return dict(sorted(out.items()))


def knob_lines(cls: ast.ClassDef, names: list[str]) -> dict[str, int]:
    """For each knob name, the first control-flow line whose condition reads it."""
    lines = control_flow_lines(cls)
    found: dict[str, int] = {}
    for name in names:
        for line, read in lines.items():
            if name in read:
                found[name] = line
                break
    return found


def knob_constructs(cls: ast.ClassDef) -> dict[str, Construct]:
    """Name -> "If" or "Loop" for names read by if-tests versus loop headers."""
    out: dict[str, Construct] = {}
    for node in ast.walk(cls):
        if isinstance(node, ast.For):
            for n in _names_in(node.iter):
                out.setdefault(n, "Loop")
        elif isinstance(node, ast.While):
            for n in _names_in(node.test):
                out.setdefault(n, "Loop")
        elif isinstance(node, ast.If):
            for n in _names_in(node.test):
                out.setdefault(n, "If")
    return out


SKIP_METHODS = frozenset(
    {
        "__init__",
        "__repr__",
        "__setstate__",
        "__getstate__",
        "extra_repr",
        "reset_parameters",
        "_reset_parameters",
        "init_weights",
        "_init_weights",
        "_load_from_state_dict",
    }
)
"""Methods whose control flow runs at build or load time, not in forward()."""


def _self_chain(node: ast.AST) -> tuple[str, ...] | None:
    """`self.a.b` -> ("a", "b"); anything not rooted at `self` -> None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "self" and parts:
        return tuple(reversed(parts))
    return None


def _tests(fn: ast.AST) -> list[tuple[ast.AST, str, int]]:
    """(test expression, construct, line) of every if/while/for/conditional expression."""
    found: list[tuple[ast.AST, str, int]] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.If | ast.IfExp):
            found.append((node.test, "If", node.lineno))
        elif isinstance(node, ast.While):
            found.append((node.test, "Loop", node.lineno))
        elif isinstance(node, ast.For):
            found.append((node.iter, "Loop", node.lineno))
    return found


def self_reads(cls: ast.ClassDef) -> dict[tuple[str, ...], tuple[str, int]]:
    """`self.<chain>` reads in control-flow tests of the class's methods (not __init__ and
    other build-time methods): chain -> (construct, first line, relative to the class
    source)."""
    out: dict[tuple[str, ...], tuple[str, int]] = {}
    for item in cls.body:
        if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if item.name in SKIP_METHODS:
            continue
        for test, construct, line in sorted(_tests(item), key=lambda t: t[2]):
            for sub in ast.walk(test):
                chain = _self_chain(sub)
                if chain is not None and chain not in out:
                    out[chain] = (construct, line)
    return out


TENSOR_CALLS = frozenset(
    {"sum", "mean", "max", "min", "any", "all", "item", "norm", "amax", "amin", "prod", "std"}
    | {"var", "allclose", "equal", "isnan", "isinf", "count_nonzero", "argmax", "argmin"}
)
"""Method or torch.* calls whose result makes a condition depend on tensor data."""
SHAPE_WORDS = frozenset({"shape", "size", "dim", "ndim", "ndimension", "numel", "training"})
"""Names that make a condition depend on shapes or mode instead (not tensor data)."""


def _is_tensor_test(test: ast.AST) -> bool:
    """Whether a condition reads tensor data: calls a reduction (`y.sum() > 0`,
    `torch.any(m)`) and reads no shape (`x.shape[0]`, `x.size(1)`, `len(x)`)."""
    data = False
    for sub in ast.walk(test):
        if isinstance(sub, ast.Attribute) and sub.attr in SHAPE_WORDS:
            return False
        if isinstance(sub, ast.Call):
            func = sub.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"len", "isinstance", "hasattr", "getattr", "callable"}:
                return False
            if name in TENSOR_CALLS:
                data = True
    return data


def tensor_tests(cls: ast.ClassDef) -> list[tuple[int, str, int, int | None]]:
    """Data-dependent `if`/`while` statements in the class's forward-time methods:
    (line, construct, first body line, first else line or None), lines relative to the
    class source."""
    out: list[tuple[int, str, int, int | None]] = []
    for item in cls.body:
        if not isinstance(item, ast.FunctionDef) or item.name in SKIP_METHODS:
            continue
        for node in ast.walk(item):
            if isinstance(node, ast.If | ast.While) and _is_tensor_test(node.test):
                orelse = node.orelse[0].lineno if node.orelse else None
                construct = "If" if isinstance(node, ast.If) else "Loop"
                out.append((node.lineno, construct, node.body[0].lineno, orelse))
    return sorted(out)
