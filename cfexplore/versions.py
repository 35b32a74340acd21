"""Package versions, read from metadata so nothing heavy is imported."""

from __future__ import annotations

import platform
from functools import cache
from importlib import metadata

VERSION = "0.1.0"
"""This cfexplore's version (pyproject.toml says the same; a test checks)."""


@cache
def versions() -> dict[str, str]:
    """Versions of python, cfexplore, torch, onnx, onnxruntime and onnxscript."""
    out = {"python": platform.python_version(), "cfexplore": VERSION}
    for dist in ("torch", "onnx", "onnxruntime", "onnxscript", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out
