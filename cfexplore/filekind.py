"""What kind of file a path is, without opening it (a FIFO would block `open()`).

Light on purpose (no onnx import): the app checks a path the user opens on its UI thread,
and the safe loader and the CLI refuse the same kinds with the same words.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

_KIND_BY_MODE: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "is a directory, not an ONNX file"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not an ONNX file"),
    (stat.S_ISSOCK, "is a socket, not an ONNX file"),
    (stat.S_ISCHR, "is a character device, not an ONNX file"),
    (stat.S_ISBLK, "is a block device, not an ONNX file"),
)


def not_regular(mode: int) -> str | None:
    """Why a file of this `st_mode` is no ONNX file (`is a FIFO …`), or None if regular."""
    if stat.S_ISREG(mode):
        return None
    for test, what in _KIND_BY_MODE:
        if test(mode):
            return what
    return "not a regular file"


DENIED = "permission denied"


def regular_stat(path: str | os.PathLike[str]) -> tuple[os.stat_result | None, str | None]:
    """`(os.stat(path), None)` for a regular file, else `(stat or None, why not)`:
    `no such file`, `permission denied`, `is a FIFO …`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, "no such file"
    except PermissionError:
        return None, DENIED
    except OSError as exc:
        return None, f"cannot stat: {exc.strerror or exc}"
    return st, not_regular(st.st_mode)


def unreadable(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be read as a model file (`no such file`, `is a FIFO …`), or None."""
    return regular_stat(path)[1]
