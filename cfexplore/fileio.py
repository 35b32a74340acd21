"""Atomic file writes: a temp file in the target folder, then `os.replace`.

`graph.save.save_onnx` builds a model's atomic save (model plus external data) on these.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from cfexplore.outpath import write_error

Fault = Callable[[str], None]
"""Called at each step of a save with its name: a test hook that may kill the process."""

CHUNK = 1 << 16


def noop(_step: str) -> None:
    return None


def _umask() -> int:
    """The process umask, read without changing it (Linux), else the usual 022."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def tmp_prefix(dest: Path) -> str:
    """Temp-file prefix for saves to `dest`: bounded (a 250-byte name still leaves room for
    it) and unique per name (clean-up never takes another target's temp file)."""
    tag = hashlib.sha256(os.fsencode(dest.name)).hexdigest()[:8]
    return f".{dest.name[:40]}.{tag}."


@contextmanager
def atomic(path: str | os.PathLike[str], family: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a temp file beside `path`; on success it replaces `path`, else it is removed.
    The temp file is named for `family` (the model a data file belongs to), so that
    `clean_leftovers(family)` finds it.

    The new file gets the mode the replaced file had (or the umask's default), not
    mkstemp's 0600. A failed write (disk full, read-only) is one `CfxError` line."""
    dest = Path(path)
    try:
        prefix = tmp_prefix(family or dest)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise write_error(dest, exc) from None
    try:
        try:
            mode = dest.stat().st_mode & 0o777
        except OSError:
            mode = 0o666 & ~_umask()
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise write_error(dest, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` so that an existing file is never left half-written."""
    with atomic(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy `src` to `dst` through a temp file beside `dst` and `os.replace`."""
    with atomic(dst) as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out, 1 << 20)
    return Path(dst)


def write_chunks(
    fh: BinaryIO, data: bytes | bytearray | memoryview, fault: Fault, step: str
) -> None:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        fh.write(view[start : start + CHUNK])
        fault(step)


def fsync_dir(folder: Path) -> None:
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
