"""How the workers' memory limit shows: an allocation failure becomes one line."""

from __future__ import annotations

import re

from cfexplore.termtext import format_size

DEFAULT_ONNX_MEMORY_LIMIT = 8 << 30
"""Address-space limit (bytes) of the worker that checks and runs untrusted .onnx files."""


def memory_error(text: str) -> bool:
    """Whether an error message says an allocation failed."""
    low = text.lower()
    return any(
        s in low for s in ("failed to allocate memory", "bad_alloc", "memoryerror", "out of memory")
    )


def too_large_message(text: str, limit: int | None) -> str:
    """One line for a model whose allocation failed, naming the buffer size when known."""

    m = re.search(r"buffer of size (\d+)", text)
    need = f" (it asked for a {format_size(int(m.group(1)))} buffer)" if m else ""
    cap = f" of {format_size(limit)}" if limit else ""
    return f"model too large: it needs more memory than the worker's limit{cap}{need}"
