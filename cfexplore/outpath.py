"""Where cfexplore may write: output paths checked before any work, and one save at a time.

`check_target` refuses, in one line and before an export or a sweep starts, every target a
save would break or misuse: an empty path, a directory, a device node, a FIFO or a socket
(replacing `/dev/null` as root would replace the system's), a symbolic link (cfexplore
replaces files with `os.replace`, which would swap the link for a regular file, and a link
planted in a shared folder could aim the write anywhere: give the link's target instead), a
missing or read-only folder, and a name too long for the folder's file system (including
the suffix of the external-data file written beside the model).

`save_lock` serialises saves into one folder across processes (an advisory `flock` on the
folder itself, so no lock file is left behind): two exports to one path can no longer
commit a model whose data file the other one's clean-up removed.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from cfexplore.errors import CfxError
from cfexplore.termtext import with_path

DATA_SUFFIX_BYTES = len(".0123456789abcdef.data")
"""What `fileio.save_onnx` appends to the model's name for its external-data file."""

LOCK_WAIT_S = 120.0
"""How long a save waits for another save into the same folder before giving up."""

_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISCHR, "is a device"),
    (stat.S_ISBLK, "is a device"),
    (stat.S_ISFIFO, "is a FIFO"),
    (stat.S_ISSOCK, "is a socket"),
)


def _fail(what: str, path: str, why: str) -> CfxError:
    """`-o PATH: why`, the path escaped for the terminal and shortened to fit one line."""
    return CfxError(with_path(path, what, why))


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def check_target(text: str | os.PathLike[str], what: str = "", *, extra_suffix: int = 0) -> Path:
    """The path a save to `text` would write, checked now; a `CfxError` (one line) if the
    save could not or must not happen. `what` names the option in the message (`-o`);
    `extra_suffix` bytes are added to the name's length check (`DATA_SUFFIX_BYTES` when an
    external-data file goes beside it)."""
    raw = os.fspath(text)
    label = f"{what} " if what else ""
    if not raw.strip():
        raise CfxError(f"{label}needs a file name (got an empty path)".strip())
    if "\0" in raw:
        raise _fail(label.strip(), raw.replace("\0", "\\0"), "a path cannot hold a NUL byte")
    try:
        path = Path(raw).expanduser()
    except RuntimeError:  # `~` with no home folder
        path = Path(raw)
    if raw.endswith(os.sep) or path.name in ("", ".", ".."):
        raise _fail(label.strip(), raw, "names a folder, not a file")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _fail(label.strip(), raw, _reason(exc)) from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise _fail(
                label.strip(),
                raw,
                "is a symbolic link (cfexplore writes regular files only: give the link's target)",
            )
        for test, why in _KINDS:
            if test(st.st_mode):
                raise _fail(label.strip(), raw, f"{why}, not a regular file")
    folder = path.parent
    try:
        folder_st = os.stat(folder)
    except OSError:
        raise _fail(label.strip(), raw, "its folder does not exist") from None
    if not stat.S_ISDIR(folder_st.st_mode):
        raise _fail(label.strip(), raw, "its folder is not a folder")
    _probe(folder, label.strip(), raw)
    limit = _name_max(folder)
    size = len(os.fsencode(path.name)) + extra_suffix
    if size > limit:
        raise _fail(
            label.strip(),
            raw,
            f"file name too long ({size} bytes with the data-file suffix; the limit is {limit})"
            if extra_suffix
            else f"file name too long ({size} bytes; the limit is {limit})",
        )
    return path


def _probe(folder: Path, what: str, raw: str) -> None:
    """Create and remove a file in `folder`: the one test of writability that holds for
    root, read-only mounts and pseudo file systems (`/proc`) alike."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=".cfx-probe-", dir=folder)
    except OSError as exc:
        raise _fail(what, raw, f"its folder is not writable ({_reason(exc)})") from None
    os.close(fd)
    with suppress(OSError):
        os.unlink(tmp)


def _reason(exc: OSError) -> str:
    """`OSError` as the short reason users read: "no space left on the device"."""
    known = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "not permitted",
        errno.ENAMETOOLONG: "file name too long",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.ENOENT: "no such file or folder",
        errno.ELOOP: "too many symbolic links",
        errno.EXDEV: "crosses file systems",
    }
    if exc.errno in known:
        return known[exc.errno]
    return (exc.strerror or type(exc).__name__).lower()


def write_error(path: str | os.PathLike[str], exc: OSError) -> CfxError:
    """The one-line error for a failed write to `path` (disk full, read-only, …)."""
    return CfxError(with_path(os.fspath(path), "cannot write", _reason(exc)))


@contextmanager
def save_lock(dest: str | os.PathLike[str], wait: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold an exclusive advisory lock on `dest`'s folder for the duration of a save.

    Where the folder cannot be locked (a file system without `flock`), the save goes on
    unlocked, as it did before. Waiting longer than `wait` seconds is an error naming it.
    """
    import fcntl

    folder = Path(dest).parent
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CfxError(
                        with_path(folder, "", f"another save into this folder held it {wait:g} s")
                    ) from None
                time.sleep(0.05)
            except OSError:
                break  # no flock here: unlocked, as before
        yield
    finally:
        with suppress(OSError):
            os.close(fd)  # closing releases the lock
