"""`save_onnx`: a model plus its external-data file, saved atomically.

The data file's name carries a hash of its bytes (`model.onnx.<hash>.data`) and is written
first; replacing the model file is the single commit point. Killed anywhere during a save,
the folder holds either the previous model with its previous data or the new model with its
new data, never a mix. Leftovers of an interrupted save (temp files, data files no model
refers to) are removed by the next save to the same path.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import suppress
from pathlib import Path
from typing import Any

from cfexplore.fileio import Fault, atomic, fsync_dir, noop, tmp_prefix, write_chunks
from cfexplore.outpath import save_lock

EXTERNAL_THRESHOLD = 1024
"""Tensors of at least this many bytes go to the external-data file."""


_ALIGN = 4096


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
        stale_tmp = name.startswith(tmp_prefix(dest)) and name.endswith(".tmp")
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
        return _save_onnx(Path(src), Path(dest), external_data, threshold, fault or noop)


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
        with atomic(dest) as out:
            write_chunks(out, Path(src).read_bytes(), fault, "model")
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
        with atomic(data_path, family=dest) as out:
            write_chunks(out, blob, fault, "data")
        fault("data-replaced")
        written.append(data_path)
        with atomic(dest) as out:
            write_chunks(out, model.SerializeToString(), fault, "model")
        written.append(dest)
    fault("model-replaced")  # the commit point is behind us
    fsync_dir(dest.parent)
    clean_leftovers(dest)
    fault("done")
    return written
