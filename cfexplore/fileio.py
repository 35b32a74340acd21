"""Atomic file writes: a temp file in the target folder, then `os.replace`.

`save_onnx` extends this to a model plus its external-data file. The data file's name
carries a hash of its bytes (`model.onnx.<hash>.data`) and is written first; replacing the
model file is the single commit point. Killed anywhere during a save, the folder holds
either the previous model with its previous data or the new model with its new data, never
a mix. Leftovers of an interrupted save (temp files, data files no model refers to) are
removed by the next save to the same path.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from cfexplore.outpath import save_lock, write_error

Fault = Callable[[str], None]
"""Called at each step of a save with its name: a test hook that may kill the process."""

CHUNK = 1 << 16
EXTERNAL_THRESHOLD = 1024
"""Tensors of at least this many bytes go to the external-data file."""
_ALIGN = 4096


def _noop(_step: str) -> None:
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


def _tmp_prefix(dest: Path) -> str:
    """Temp-file prefix for saves to `dest`: bounded (a 250-byte name still leaves room for
    it) and unique per name (clean-up never takes another target's temp file)."""
    tag = hashlib.sha256(os.fsencode(dest.name)).hexdigest()[:8]
    return f".{dest.name[:40]}.{tag}."


@contextmanager
def _atomic(path: str | os.PathLike[str], family: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a temp file beside `path`; on success it replaces `path`, else it is removed.
    The temp file is named for `family` (the model a data file belongs to), so that
    `clean_leftovers(family)` finds it.

    The new file gets the mode the replaced file had (or the umask's default), not
    mkstemp's 0600. A failed write (disk full, read-only) is one `CfxError` line."""
    dest = Path(path)
    try:
        prefix = _tmp_prefix(family or dest)
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
    with _atomic(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy `src` to `dst` through a temp file beside `dst` and `os.replace`."""
    with _atomic(dst) as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out, 1 << 20)
    return Path(dst)


def _write_chunks(
    fh: BinaryIO, data: bytes | bytearray | memoryview, fault: Fault, step: str
) -> None:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        fh.write(view[start : start + CHUNK])
        fault(step)


def _fsync_dir(folder: Path) -> None:
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _data_pattern(dest: Path) -> re.Pattern[str]:
    return re.compile(re.escape(dest.name) + r"\.[0-9a-f]{16}\.data")


def _referenced_locations(model_path: Path) -> set[str]:
    """External-data locations the model file at `model_path` refers to (empty if none)."""
    import onnx

    from cfexplore.graph.walk import iter_tensors

    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception:
        return set()
    found = set()
    for t in iter_tensors(model):
        if t.data_location == onnx.TensorProto.EXTERNAL:
            for entry in t.external_data:
                if entry.key == "location":
                    found.add(entry.value)
    return found


def clean_leftovers(dest: str | os.PathLike[str]) -> list[Path]:
    """Remove what an interrupted save to `dest` left: temp files, and hashed data files the
    current model does not refer to. Returns the removed paths."""
    dest = Path(dest)
    folder = dest.parent
    if not folder.is_dir():
        return []
    keep = _referenced_locations(dest) if dest.is_file() else set()
    data = _data_pattern(dest)
    removed = []
    for entry in folder.iterdir():
        name = entry.name
        stale_tmp = name.startswith(_tmp_prefix(dest)) and name.endswith(".tmp")
        orphan = data.fullmatch(name) is not None and name not in keep
        if (stale_tmp or orphan) and entry.is_file() and not entry.is_symlink():
            with suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def _pack(model: Any, threshold: int) -> tuple[bytearray, list[tuple[Any, int, int]]]:
    """Concatenate (aligned) the raw bytes of every tensor of at least `threshold` bytes."""
    from onnx import TensorProto, numpy_helper

    from cfexplore.graph.walk import iter_graphs

    blob = bytearray()
    placed: list[tuple[Any, int, int]] = []
    # initializers only (of every graph): runtimes read external data for those
    for t in (t for _, g in iter_graphs(model) for t in g.initializer):
        if t.data_location == TensorProto.EXTERNAL:
            continue
        if not t.HasField("raw_data"):
            if t.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
                continue
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t), t.name))
        raw = t.raw_data
        if len(raw) < threshold:
            continue
        pad = (-len(blob)) % _ALIGN
        blob.extend(b"\0" * pad)
        placed.append((t, len(blob), len(raw)))
        blob.extend(raw)
    return blob, placed


def save_onnx(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    external_data: bool = False,
    threshold: int = EXTERNAL_THRESHOLD,
    fault: Fault | None = None,
) -> list[Path]:
    """Save the (trusted, our own export) model at `src` to `dest`, atomically.

    With `external_data` (forced when `src` already keeps weights outside), tensors of at
    least `threshold` bytes go to `dest.<hash>.data`; saving the same model again rewrites
    the same file, so nothing grows. Returns the files written.
    """
    with save_lock(dest):
        return _save_onnx(Path(src), Path(dest), external_data, threshold, fault or _noop)


def _save_onnx(
    src: Path, dest: Path, external_data: bool, threshold: int, fault: Fault
) -> list[Path]:
    import onnx

    clean_leftovers(dest)
    fault("start")
    model = onnx.load(str(src), load_external_data=False)
    from cfexplore.graph.walk import iter_tensors

    has_external = any(t.data_location == onnx.TensorProto.EXTERNAL for t in iter_tensors(model))
    written: list[Path] = []
    if not (external_data or has_external):
        with _atomic(dest) as out:
            _write_chunks(out, Path(src).read_bytes(), fault, "model")
        written.append(dest)
    else:
        if has_external:
            onnx.load_external_data_for_model(model, str(Path(src).parent))
        blob, placed = _pack(model, threshold)
        fault("packed")
        data_name = f"{dest.name}.{hashlib.sha256(blob).hexdigest()[:16]}.data"
        for t, offset, length in placed:
            t.ClearField("raw_data")
            del t.external_data[:]
            for key, value in (("location", data_name), ("offset", offset), ("length", length)):
                entry = t.external_data.add()
                entry.key, entry.value = key, str(value)
            t.data_location = onnx.TensorProto.EXTERNAL
        data_path = dest.parent / data_name
        with _atomic(data_path, family=dest) as out:
            _write_chunks(out, blob, fault, "data")
        fault("data-replaced")
        written.append(data_path)
        with _atomic(dest) as out:
            _write_chunks(out, model.SerializeToString(), fault, "model")
        written.append(dest)
    fault("model-replaced")  # the commit point is behind us
    _fsync_dir(dest.parent)
    clean_leftovers(dest)
    fault("done")
    return written
