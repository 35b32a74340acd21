"""Remembered input settings per .onnx file, so a file opened again runs as it did.

One JSON file in the XDG config folder (`$XDG_CONFIG_HOME/cfexplore/inputs.json`, else
`~/.config/cfexplore/inputs.json`), keyed by the file's resolved path; each entry keeps the
file's SHA-256, and a file whose bytes changed since gets nothing back (its inputs may have
changed too). Written through a temp file + `os.replace`; an unreadable store is treated
as empty, never an error.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from cfexplore.fileio import atomic_write_bytes, file_sha256
from cfexplore.target.feeds import FeedPlan

MAX_ENTRIES = 200
"""The store keeps the most recently saved files only."""


def store_path() -> Path:
    """Where the settings live (XDG base directory spec)."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "cfexplore" / "inputs.json"


def _read() -> dict[str, Any]:
    try:
        data = json.loads(store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def recall(path: str | os.PathLike[str]) -> FeedPlan | None:
    """The plan last saved for this file, if its bytes are unchanged since."""
    entry = _read().get(str(Path(path).resolve()))
    if not isinstance(entry, dict):
        return None
    try:
        if entry.get("sha256") != file_sha256(path):
            return None
    except OSError:
        return None
    plan = FeedPlan.from_dict(entry)
    return plan if plan.dims or plan.inputs else None


def remember(path: str | os.PathLike[str], plan: FeedPlan) -> Path:
    """Save `plan` for this file (an empty plan forgets it); returns the store's path."""
    key = str(Path(path).resolve())
    data = _read()
    data.pop(key, None)
    if plan.dims or plan.inputs:
        data[key] = {"sha256": file_sha256(path), **plan.to_dict()}
    while len(data) > MAX_ENTRIES:
        data.pop(next(iter(data)))
    target = store_path()
    with contextlib.suppress(FileExistsError):
        target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(target, (json.dumps(data, indent=1) + "\n").encode())
