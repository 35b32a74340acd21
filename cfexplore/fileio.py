"""Atomic file writes: a temp file in the target folder, then `os.replace`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def _atomic(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a temp file beside `path`; on success it replaces `path`, else it is removed."""
    dest = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` so that an existing file is never left half-written."""
    with _atomic(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy `src` to `dst` through a temp file beside `dst` and `os.replace`."""
    with _atomic(dst) as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out, 1 << 20)
    return Path(dst)
