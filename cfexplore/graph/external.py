"""External-data references of untrusted models: validated, never followed out of the
model's folder, and read only through the files that were validated."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from onnx import ModelProto, TensorProto

from cfexplore.errors import GraphError, graph_error
from cfexplore.graph.walk import iter_tensors
from cfexplore.termtext import safe_text

_NAME_IN_MESSAGE = 48
"""Characters of a tensor name or location quoted in a message."""


# --------------------------------------------------------------------------- external data


def _external_fields(t: TensorProto) -> dict[str, str]:
    return {e.key: e.value for e in t.external_data}


def _bad_ref(model_path: Path, t: TensorProto, location: str, why: str) -> GraphError:
    tensor = safe_text(t.name or "(unnamed)", _NAME_IN_MESSAGE)
    where = safe_text(location, _NAME_IN_MESSAGE)
    msg = f"external data '{where}' of tensor '{tensor}' {why}"
    details = (
        f"{model_path}: external data of tensor {t.name!r} refused\n"
        f"location: {location!r}\nreason: {why}\n"
        f"entries: {_external_fields(t)!r}"
    )
    return graph_error(model_path, msg, details, verb="cannot open")


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _validated_file(model_path: Path, base: Path, t: TensorProto) -> tuple[Path, os.stat_result]:
    """The external-data file of `t`, checked to be a plain file inside `base`."""
    fields = _external_fields(t)
    location = fields.get("location")
    if not location:
        raise _bad_ref(model_path, t, location or "", "has no location")
    if "\x00" in location:
        raise _bad_ref(model_path, t, location, "contains a NUL byte")
    if (
        location.startswith(("/", "\\"))
        or os.path.isabs(location)
        or re.match(r"^[A-Za-z]:", location)
    ):
        raise _bad_ref(model_path, t, location, "is an absolute path (must be beside the model)")
    parts = [s for s in re.split(r"[/\\]", location) if s not in ("", ".")]
    if ".." in parts:
        raise _bad_ref(model_path, t, location, "escapes the model folder (`..`)")
    if not parts:
        raise _bad_ref(model_path, t, location, "names no file")
    current = base
    st: os.stat_result | None = None
    for i, part in enumerate(parts):
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            raise _bad_ref(model_path, t, location, "is missing") from None
        except OSError as exc:
            raise _bad_ref(model_path, t, location, f"cannot be read ({exc.strerror})") from None
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            kind = "is a symlink" if last else f"goes through a symlinked folder ({part})"
            raise _bad_ref(model_path, t, location, kind)
        if not last and not stat.S_ISDIR(st.st_mode):
            raise _bad_ref(model_path, t, location, f"goes through {part}, not a folder")
    assert st is not None
    if not stat.S_ISREG(st.st_mode):
        raise _bad_ref(model_path, t, location, "is not a regular file")
    if st.st_nlink > 1:
        raise _bad_ref(model_path, t, location, f"is a hard link ({st.st_nlink} links)")
    offset = _parse_int(fields.get("offset", "0"))
    length = _parse_int(fields.get("length")) if "length" in fields else None
    if offset is None or ("length" in fields and length is None):
        raise _bad_ref(model_path, t, location, "has a non-integer offset or length")
    if offset < 0:
        raise _bad_ref(model_path, t, location, f"has a negative offset ({offset})")
    if length is not None and length < 0:
        raise _bad_ref(model_path, t, location, f"has a negative length ({length})")
    end = offset + (length or 0)
    if offset > st.st_size or end > st.st_size:
        raise _bad_ref(
            model_path,
            t,
            location,
            f"reads bytes {offset:,}..{end:,}, past the end of the file ({st.st_size:,} bytes)",
        )
    return current, st


def check_external_data(model: ModelProto, model_path: str | os.PathLike[str]) -> int:
    """Validate every external-data reference of `model` (in all graphs and functions).

    A location must be a relative path inside the model's folder, reached without symlinks,
    naming a regular file with one link, and `offset`/`length` must lie within it. Raises
    `GraphError` naming the location and tensor; returns how many tensors were checked.
    onnx's own `base_dir` checks are not relied upon.
    """
    p = Path(model_path)
    base = Path(os.path.realpath(p)).parent
    count = 0
    for t in iter_tensors(model):
        if t.data_location == TensorProto.EXTERNAL or len(t.external_data):
            _validated_file(p, base, t)
            count += 1
    return count


def read_external(model: ModelProto, model_path: Path) -> None:
    """Read validated external data into the tensors, refusing files swapped since the check."""
    base = Path(os.path.realpath(model_path)).parent
    for t in iter_tensors(model):
        if not (t.data_location == TensorProto.EXTERNAL or len(t.external_data)):
            continue
        path, st = _validated_file(model_path, base, t)
        fields = _external_fields(t)
        offset = int(fields.get("offset", "0"))
        length = int(fields["length"]) if "length" in fields else st.st_size - offset
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
        try:
            now = os.fstat(fd)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
                raise _bad_ref(model_path, t, fields.get("location", ""), "changed while loading")
            data = os.pread(fd, length, offset)
        finally:
            os.close(fd)
        t.raw_data = data
        del t.external_data[:]
        t.data_location = TensorProto.DEFAULT
