"""Data-dependent `if`s in user code: drive the inputs both ways and watch the branch.

A `tensor-data` knob found in source (`if y.sum() > 0:`) has no value to set; its sweep
values are *drives*, transforms of every floating-point input (sign, scale, other seeds).
Each drive runs eager PyTorch with a line tracer on the knob's file, which tells which
branch the `if` took; the sweep stops once both branches have been seen (or every drive
was tried, and the verdict says the other branch could not be reached).

Runs in the worker process (or in-process for the Python API).
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DRIVES = ("as-is", "negated", "x100", "-x100", "abs", "-abs", "x0.01", "seed+1", "seed+2")
"""Sweep values of a discovered tensor-data knob; `as-is` is the export-time input."""
AS_IS = DRIVES[0]


def seed_offset(drive: Any) -> int:
    """`seed+2` -> 2; other drives 0."""
    if isinstance(drive, str) and drive.startswith("seed+"):
        try:
            return int(drive[5:])
        except ValueError:
            return 0
    return 0


def apply_drive(data: dict[str, np.ndarray], drive: Any) -> dict[str, np.ndarray]:
    """The inputs with `drive` applied to every floating-point array."""
    fns: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "negated": lambda a: -a,
        "x100": lambda a: a * 100,
        "-x100": lambda a: a * -100,
        "abs": np.abs,
        "-abs": lambda a: -np.abs(a),
        "x0.01": lambda a: a * 0.01,
    }
    fn = fns.get(drive) if isinstance(drive, str) else None
    if fn is None:
        return data
    return {
        n: fn(a).astype(a.dtype) if np.issubdtype(a.dtype, np.floating) else a
        for n, a in data.items()
    }


@lru_cache(maxsize=64)
def branch_lines(file: str, line: int) -> tuple[str, int, int | None] | None:
    """(construct, first body line, first else line) of the if/while at `file:line`."""
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.If | ast.While) and node.lineno == line:
            orelse = node.orelse[0].lineno if node.orelse else None
            return ("If" if isinstance(node, ast.If) else "Loop"), node.body[0].lineno, orelse
    return None


def traced_path(file: str, line: int, run: Callable[[], Any]) -> tuple[str | None, Any]:
    """Run `run()` with a line tracer on `file`; return (the branch the statement at
    `line` took, run's result). Branches: `then`, `else`, `then+else` (it ran more than
    once, both ways), `N iterations` for a loop, `not reached`, or None when unknown."""
    info = branch_lines(file, line)
    hits: Counter[int] = Counter()
    if info is None:
        return None, run()

    def local(frame: Any, event: str, _arg: Any) -> Any:
        if event == "line":
            hits[frame.f_lineno] += 1
        return local

    def on_call(frame: Any, _event: str, _arg: Any) -> Any:
        return local if frame.f_code.co_filename == file else None

    old = sys.gettrace()
    sys.settrace(on_call)
    try:
        result = run()
    finally:
        sys.settrace(old)
    construct, body, orelse = info
    if not hits[line]:
        return "not reached", result
    if construct == "Loop":
        return f"{hits[body]} iterations", result
    ran_then = hits[body] > 0
    ran_else = hits[line] > hits[body] if orelse is None else hits[orelse] > 0
    if ran_then and ran_else:
        return "then+else", result
    return ("then" if ran_then else "else"), result


def bool_sites(run: Callable[[], Any], is_user: Callable[[str], bool]) -> list[tuple[str, int]]:
    """(file, line) of every `if`/`while` in user code that turned a tensor into a Python
    bool while `run()` ran: data-dependent control flow, wherever it is (a method, a helper
    function, a submodule). Found by watching `Tensor.__bool__`; errors in `run` are
    ignored (the sites seen until then are kept)."""
    import torch

    sites: dict[tuple[str, int], None] = {}
    original = torch.Tensor.__bool__

    def spy(self: Any) -> bool:
        frame = sys._getframe(1)
        file = frame.f_code.co_filename
        if is_user(file) and branch_lines(file, frame.f_lineno) is not None:
            sites.setdefault((file, frame.f_lineno), None)
        return bool(original(self))

    torch.Tensor.__bool__ = spy  # type: ignore[method-assign]
    try:
        run()
    except Exception:
        pass
    finally:
        torch.Tensor.__bool__ = original  # type: ignore[method-assign]
    return list(sites)
