"""Where an ONNX node came from in Python: `file:line` from the exporter's records.

The TorchScript exporter (with `verbose=True`, as cfexplore exports) writes the source
range into each node's `doc_string` (trace: the Python stack, innermost first); the
torch.export-based exporter writes a stack trace into
`metadata_props["pkg.torch.onnx.stack_trace"]`. The deepest frame outside torch and
site-packages is the user's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FRAME = re.compile(r'File "([^"]+)", line (\d+)')
TRACE_FRAME = re.compile(r"^(/[^\n(]+|[A-Za-z]:[^\n(]+)\((\d+)\): \S+$", re.M)
"""torch.jit.trace's frame lines: `/path/file.py(83): forward`."""
STACK_KEYS = ("pkg.torch.onnx.stack_trace", "stack_trace")


@dataclass(frozen=True)
class SourceLoc:
    """A Python source position; `library` when it is inside torch or site-packages."""

    file: str
    line: int
    library: bool = False

    def __str__(self) -> str:
        return f"{Path(self.file).name}:{self.line}"


def _is_library(file: str) -> bool:
    return "site-packages" in file or "/torch/" in file or file.startswith("<")


def frames(doc_string: str, metadata: dict[str, str]) -> list[SourceLoc]:
    """Every `File "...", line N` the exporter recorded, outermost first (the trace
    exporter's `file(N): function` lines come innermost first and are turned round)."""
    text = "\n".join([*(metadata.get(k, "") for k in STACK_KEYS), doc_string])
    found = [SourceLoc(f, int(n), _is_library(f)) for f, n in FRAME.findall(text)]
    if not found:
        traced = TRACE_FRAME.findall(doc_string)
        found = [SourceLoc(f, int(n), _is_library(f)) for f, n in reversed(traced)]
    return found


def node_source(doc_string: str, metadata: dict[str, str]) -> SourceLoc | None:
    """The user's line for a node: the deepest non-library frame, else the first frame."""
    found = frames(doc_string, metadata)
    user = [f for f in found if not f.library]
    if user:
        return user[-1]
    return found[0] if found else None


def read_lines(file: str) -> list[str] | None:
    """The file's lines, or None when it cannot be read (moved, binary, ...)."""
    try:
        return Path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
