"""Opening untrusted `.onnx` files.

`load_model_safely` refuses anything that is not a regular file (a FIFO would block), checks
the size before reading, parses the bytes itself (so a file's extension never picks the
parser), repairs invalid UTF-8 in names, and validates every external-data reference
without following it out of the model's folder. Its errors are `GraphError`s: one readable
line, with the full text in `details`.

The extension never decides the parser: a binary model named `.json` opens as binary (with
a note in the warnings); a real JSON-format model opens through onnx's JSON reader; a text
file is refused as such. External data is validated, not read (`load_external=True` reads
it through the validated files): the tree needs only the shapes and dtypes in the proto.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import Any

import onnx
from google.protobuf.message import DecodeError
from onnx import ModelProto

from cfexplore.errors import GraphError, graph_error
from cfexplore.filekind import DENIED, regular_stat
from cfexplore.graph.external import check_external_data, read_external
from cfexplore.termtext import format_size, one_line, safe_text
from cfexplore.termtext import with_path as _with_path

DEFAULT_MAX_BYTES = 2 * 1024**3
"""Largest `.onnx` file `load_model_safely` reads (2 GiB, protobuf's own message limit)."""

# --------------------------------------------------------------------------- loading


def _too_big(path: Path, size: int, max_bytes: int) -> GraphError:
    what = f"{format_size(size)}: over the {format_size(max_bytes)} limit"
    msg = _with_path(path, "", what, sep=" is ")
    return GraphError(one_line(msg), f"{msg} ({size:,} > {max_bytes:,} bytes)")


def stat_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """`os.stat` of a regular file; anything else (a FIFO, a device, a folder) is refused
    with a GraphError without being opened."""
    st, why = regular_stat(path)
    if st is None or why:
        raise graph_error(
            path, why or "not a regular file", verb="cannot read" if why == DENIED else ""
        )
    return st


def _read_regular(path: Path, size: int) -> bytes:
    """Read a file already known to be regular; O_NONBLOCK guards a swap to a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise graph_error(path, "permission denied", verb="cannot read") from None
    except OSError as exc:
        raise graph_error(path, f"{exc.strerror or exc}", verb="cannot read") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise graph_error(path, "not a regular file")
        chunks: list[bytes] = []
        remaining = max(st.st_size, size) + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_model_safely(
    path: str | os.PathLike[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    warnings: list[str] | None = None,
    load_external: bool = False,
) -> ModelProto:
    """Parse an untrusted `.onnx` file, or raise `GraphError` with a one-line reason.

    Only a regular file of at most `max_bytes` is read. The bytes are parsed as a binary
    ModelProto whatever the extension (a JSON-format model is accepted too). Invalid UTF-8
    in names is shown escaped. Every external-data reference is validated (`check_external_data`);
    the data itself is read only with `load_external`, through the validated files.
    Notes about the file (JSON format, repaired names) are appended to `warnings`.
    """
    p = Path(path)
    notes = warnings if warnings is not None else []
    st = stat_regular(p)
    if st.st_size > max_bytes:
        raise _too_big(p, st.st_size, max_bytes)
    if st.st_size == 0:
        raise graph_error(p, "empty file: 0 bytes, not an ONNX model", verb="cannot parse")
    data = _read_regular(p, st.st_size)
    if len(data) > max_bytes:  # it grew while being read
        raise _too_big(p, len(data), max_bytes)
    model = _parse(p, data, notes)
    fixed = 0 if utf8_clean(data) else repair_utf8(model)
    if fixed:
        notes.append(
            f"invalid UTF-8 in {fixed:,} name{'s' if fixed != 1 else ''} or string"
            f"{'s' if fixed != 1 else ''}: shown escaped as \\xNN"
        )
    check_external_data(model, p)
    if load_external:
        read_external(model, p)
    return model


def _parse(p: Path, data: bytes, notes: list[str]) -> ModelProto:
    model = ModelProto()
    error: Exception | None = None
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        error = exc
    if error is None and model.HasField("graph"):
        if p.suffix.lower() == ".json":
            notes.append(f"{safe_text(p.name, 60)} holds a binary ONNX model: opened as binary")
        return model
    if error is not None and ("MaxDepth" in str(error) or "recursion" in str(error).lower()):
        raise graph_error(
            p,
            "nested too deeply (protobuf's limit is 100 levels, about 32 nested If/Loop bodies)",
            str(error),
            verb="cannot parse",
        )
    text = _as_text(data)
    if text is not None:
        if text.lstrip().startswith("{"):
            try:
                parsed = onnx.load_model_from_string(data, format="json")
            except Exception as exc:
                raise graph_error(
                    p,
                    f"JSON text, not an ONNX model ({one_line(str(exc), 60)})",
                    verb="cannot parse",
                ) from None
            if parsed.HasField("graph"):
                notes.append("JSON-format ONNX model (read with onnx's JSON reader)")
                return parsed
            raise graph_error(
                p, "JSON text without a graph, not an ONNX model", verb="cannot parse"
            )
        head = safe_text(text.lstrip()[:40], 30)
        raise graph_error(
            p, f"a text file, not a binary ONNX model (starts “{head}”)", verb="cannot parse"
        )
    reason = _wire_diagnosis(data)
    if reason:
        raise graph_error(p, f"{reason}", f"{p}: {reason}\n{error or ''}", verb="cannot parse")
    if error is not None:
        detail = one_line(str(error), 80)
        raise graph_error(
            p, f"corrupt protobuf inside the model: {detail}", str(error), verb="cannot parse"
        )
    raise graph_error(p, "no graph in file (not an ONNX model?)", verb="cannot parse")


def _as_text(data: bytes) -> str | None:
    """The start of `data` as text, when the file looks like a text file."""
    head = data[:4096]
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 4096 boundary
            return None
        text = head[: exc.start].decode("utf-8")
    if not text:
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    return text if printable >= 0.95 * len(text) else None


_MODEL_FIELDS: dict[int, tuple[int, str]] = {
    1: (0, "ir_version"),
    2: (2, "producer_name"),
    3: (2, "producer_version"),
    4: (2, "domain"),
    5: (0, "model_version"),
    6: (2, "doc_string"),
    7: (2, "graph"),
    8: (2, "opset_import"),
    14: (2, "metadata_props"),
    20: (2, "training_info"),
    25: (2, "functions"),
    26: (2, "configuration"),
}


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < len(data) and shift < 70:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    return None


def _wire_diagnosis(data: bytes) -> str:
    """Why `data` is not a ModelProto, from its top-level protobuf fields ("" if they look fine)."""
    n, pos = len(data), 0
    while pos < n:
        start = pos
        tag = _varint(data, pos)
        if tag is None:
            return f"truncated model: the file ends at byte {n:,} inside a field tag"
        field_no, wire = tag[0] >> 3, tag[0] & 7
        pos = tag[1]
        expected = _MODEL_FIELDS.get(field_no)
        if expected is None or expected[0] != wire:
            return (
                f"not an ONNX model: byte {start:,} is no ModelProto field "
                "(random or foreign data?)"
            )
        value = _varint(data, pos)
        if value is None:
            return f"truncated model: the file ends at byte {n:,} inside {expected[1]}"
        pos = value[1]
        if wire == 2:
            if pos + value[0] > n:
                return (
                    f"truncated model: {expected[1]} at byte {start:,} needs "
                    f"{value[0]:,} bytes, the file ends {n - pos:,} bytes later"
                )
            pos += value[0]
    return ""


_STRING = onnx.NodeProto.DESCRIPTOR.fields_by_name["name"].type
_MESSAGE = onnx.NodeProto.DESCRIPTOR.fields_by_name["attribute"].type


@functools.cache
def _strict_twin() -> Any:
    """ModelProto's message class again, declared proto3: its parser rejects a string
    field holding invalid UTF-8 (proto2, as onnx.proto is, keeps it as bytes). None when
    this protobuf cannot build it (then every model takes the walk in `repair_utf8`)."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        fdp = descriptor_pb2.FileDescriptorProto()
        ModelProto.DESCRIPTOR.file.CopyToProto(fdp)
        old, new = f".{fdp.package}.", ".cfx_utf8_twin."
        fdp.name, fdp.package, fdp.syntax = "cfx_utf8_twin.proto", "cfx_utf8_twin", "proto3"

        def fix(messages: Any) -> None:
            for m in messages:
                m.ClearField("extension_range")
                for f in m.field:
                    f.ClearField("default_value")
                    if f.type_name.startswith(old):
                        f.type_name = new + f.type_name[len(old) :]
                    if f.label == f.LABEL_REQUIRED:
                        f.label = f.LABEL_OPTIONAL
                fix(m.nested_type)

        fix(fdp.message_type)
        pool = descriptor_pool.DescriptorPool()
        pool.Add(fdp)
        twin = pool.FindMessageTypeByName("cfx_utf8_twin.ModelProto")
        return message_factory.GetMessageClass(twin)
    except Exception:
        return None


def utf8_clean(data: bytes) -> bool:
    """True when no string field of the serialized model holds invalid UTF-8: one parse
    in C (~the cost of the first) instead of a Python walk of every message. False also
    when it cannot tell; the caller then walks (`repair_utf8`)."""
    twin = _strict_twin()
    if twin is None:
        return False
    try:
        twin().ParseFromString(data)
    except Exception:
        return False
    return True


def repair_utf8(model: ModelProto) -> int:
    """Replace string fields holding invalid UTF-8 (parsed as bytes) by escaped text.

    `\\xff` becomes the four characters `\\xff`, so distinct bad names stay distinct and
    references between them still match. Returns how many values were repaired.
    """
    fixed = 0
    stack: list[Any] = [model]
    while stack:
        msg = stack.pop()
        for fd, value in msg.ListFields():
            if fd.type == _STRING:
                if fd.is_repeated:
                    for i, v in enumerate(value):
                        if isinstance(v, bytes):
                            value[i] = v.decode("utf-8", errors="backslashreplace")
                            fixed += 1
                elif isinstance(value, bytes):
                    setattr(msg, fd.name, value.decode("utf-8", errors="backslashreplace"))
                    fixed += 1
            elif fd.type == _MESSAGE:
                if fd.is_repeated:
                    stack.extend(value)
                else:
                    stack.append(value)
    return fixed
