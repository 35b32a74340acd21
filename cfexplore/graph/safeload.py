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
The terminal-text helpers it uses (`safe_text`, …) live in `termtext` and are re-exported.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import onnx
from google.protobuf.message import DecodeError
from onnx import AttributeProto, GraphProto, ModelProto, TensorProto

from cfexplore.errors import CfxError
from cfexplore.filekind import DENIED, regular_stat
from cfexplore.termtext import format_size, one_line, safe_text
from cfexplore.termtext import with_path as _with_path

DEFAULT_MAX_BYTES = 2 * 1024**3
"""Largest `.onnx` file `load_model_safely` reads (2 GiB, protobuf's own message limit)."""

MAX_LINT_WARNINGS = 12
"""Structural warnings `model_warnings` returns before `… N more`."""

_NAME_IN_MESSAGE = 48
"""Characters of a tensor name or location quoted in a message."""


class GraphError(CfxError):
    """A file cannot be opened as an ONNX model.

    The message is one user-facing line; `details` keeps the full text (the parser's own
    error, the path, the offending tensor). A CfxError, so the worker replies with it as a
    user error and the CLI prints it as one line, exit 2, with no conversion at each caller.
    """


# --------------------------------------------------------------------------- loading


def _fail(
    path: str | os.PathLike[str], what: str, details: str = "", *, verb: str = ""
) -> GraphError:
    """A GraphError `[<verb> ]<path>: <what>` kept to one line of at most 160 characters."""
    msg = _with_path(path, verb, what)
    return GraphError(one_line(msg), details or msg)


def _too_big(path: Path, size: int, max_bytes: int) -> GraphError:
    what = f"{format_size(size)}: over the {format_size(max_bytes)} limit"
    msg = _with_path(path, "", what, sep=" is ")
    return GraphError(one_line(msg), f"{msg} ({size:,} > {max_bytes:,} bytes)")


def stat_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """`os.stat` of a regular file; anything else (a FIFO, a device, a folder) is refused
    with a GraphError without being opened."""
    st, why = regular_stat(path)
    if st is None or why:
        raise _fail(path, why or "not a regular file", verb="cannot read" if why == DENIED else "")
    return st


def _read_regular(path: Path, size: int) -> bytes:
    """Read a file already known to be regular; O_NONBLOCK guards a swap to a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise _fail(path, "permission denied", verb="cannot read") from None
    except OSError as exc:
        raise _fail(path, f"{exc.strerror or exc}", verb="cannot read") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _fail(path, "not a regular file")
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
        raise _fail(p, "empty file: 0 bytes, not an ONNX model", verb="cannot parse")
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
        _load_external(model, p)
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
        raise _fail(
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
                raise _fail(
                    p,
                    f"JSON text, not an ONNX model ({one_line(str(exc), 60)})",
                    verb="cannot parse",
                ) from None
            if parsed.HasField("graph"):
                notes.append("JSON-format ONNX model (read with onnx's JSON reader)")
                return parsed
            raise _fail(p, "JSON text without a graph, not an ONNX model", verb="cannot parse")
        head = safe_text(text.lstrip()[:40], 30)
        raise _fail(
            p, f"a text file, not a binary ONNX model (starts “{head}”)", verb="cannot parse"
        )
    reason = _wire_diagnosis(data)
    if reason:
        raise _fail(p, f"{reason}", f"{p}: {reason}\n{error or ''}", verb="cannot parse")
    if error is not None:
        detail = one_line(str(error), 80)
        raise _fail(
            p, f"corrupt protobuf inside the model: {detail}", str(error), verb="cannot parse"
        )
    raise _fail(p, "no graph in file (not an ONNX model?)", verb="cannot parse")


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


# --------------------------------------------------------------------------- walking graphs


def iter_graphs(model: ModelProto) -> Iterator[tuple[str, GraphProto]]:
    """(where, graph) for the main graph, every subgraph, function bodies' subgraphs and
    training graphs, iteratively (deep nesting is fine)."""
    stack: list[tuple[str, GraphProto]] = []
    for i, info in enumerate(model.training_info):
        if info.HasField("algorithm"):
            stack.append((f"training_info[{i}].algorithm", info.algorithm))
        if info.HasField("initialization"):
            stack.append((f"training_info[{i}].initialization", info.initialization))
    if model.HasField("graph"):
        stack.append(("graph", model.graph))
    for f in model.functions:
        for node in f.node:
            stack.extend(
                (f"function {f.name}/{node.name or node.op_type}", g) for g in _subgraphs(node)
            )
    while stack:
        where, g = stack.pop()
        yield where, g
        for node in g.node:
            if node.attribute:  # most nodes have none: skip the call
                for key, sub in _subgraph_items(node):
                    stack.append((f"{where}/{node.name or node.op_type}.{key}", sub))


def _subgraph_items(node: onnx.NodeProto) -> list[tuple[str, GraphProto]]:
    out: list[tuple[str, GraphProto]] = []
    for a in node.attribute:
        if a.HasField("g"):
            out.append((a.name, a.g))
        out.extend((f"{a.name}[{i}]", g) for i, g in enumerate(a.graphs))
    return out


def _subgraphs(node: onnx.NodeProto) -> list[GraphProto]:
    return [g for _, g in _subgraph_items(node)]


def _attribute_tensors(a: AttributeProto) -> Iterator[TensorProto]:
    if a.HasField("t"):
        yield a.t
    yield from a.tensors
    if a.HasField("sparse_tensor"):
        yield a.sparse_tensor.values
        yield a.sparse_tensor.indices
    for st in a.sparse_tensors:
        yield st.values
        yield st.indices


def iter_tensors(model: ModelProto) -> Iterator[TensorProto]:
    """Every TensorProto of the model: initializers, sparse ones, and node attributes,
    in all graphs and local-function bodies."""
    for _, g in iter_graphs(model):
        yield from g.initializer
        for st in g.sparse_initializer:
            yield st.values
            yield st.indices
        for node in g.node:
            for a in node.attribute:
                yield from _attribute_tensors(a)
    for f in model.functions:
        for node in f.node:
            for a in node.attribute:
                yield from _attribute_tensors(a)


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
    return _fail(model_path, msg, details, verb="cannot open")


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


def _load_external(model: ModelProto, model_path: Path) -> None:
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


# --------------------------------------------------------------------------- lint


def _onnx_version() -> str:
    return ".".join(onnx.__version__.split(".")[:2])


def unknown_op_note(op_type: str, domain: str) -> str | None:
    """`unknown op …` when a standard-domain op is not in this onnx's operator set."""
    if domain not in ("", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"):
        return None
    key = "" if domain == "ai.onnx" else domain
    try:
        known = onnx.defs.has(op_type, key)
    except Exception:
        known = False
    if known:
        return None
    where = domain or "ai.onnx"
    return f"unknown op {safe_text(op_type, 40)}: onnx {_onnx_version()} has no such op in {where}"


_BENIGN_CHECKER = ("Field 'shape' of 'type' is required but missing",)
"""Checker complaints that say nothing to a reader (a missing shape is shown as `?`)."""


def model_warnings(model: ModelProto) -> list[str]:
    """Cheap structural warnings for a model that still opens.

    Opsets newer than this onnx, unknown standard ops, names read but never defined, If
    nodes whose branches disagree on their output count, and the first line of
    `onnx.checker.check_model(full_check=False)`. At most `MAX_LINT_WARNINGS` lines.
    """
    out: list[str] = []
    newest = onnx.defs.onnx_opset_version()
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version > newest:
            out.append(
                f"opset {op.version} is newer than onnx {_onnx_version()} knows (up to {newest})"
            )
    functions = {(f.domain, f.name) for f in model.functions}
    unknown: dict[str, int] = {}
    known: dict[tuple[str, str], bool] = {}
    undefined: list[str] = []
    undefined_count = 0
    # (graph, the names each enclosing graph defines, innermost first, where): a subgraph
    # looks names up through the chain instead of copying its scope (20,000 sibling Ifs
    # would copy a 20,000-name scope 40,000 times)
    stack: list[tuple[GraphProto, tuple[set[str], ...], str]] = []
    if model.HasField("graph"):
        stack.append((model.graph, (), "main graph"))
    while stack:
        g, outer, where = stack.pop()
        local = {vi.name for vi in g.input}
        local.update(t.name for t in g.initializer)
        local.update(st.values.name for st in g.sparse_initializer)
        for node in g.node:
            local.update(node.output)
        scopes = (local, *outer)

        def visible(name: str, scopes: tuple[set[str], ...] = scopes) -> bool:
            return any(name in scope for scope in scopes)

        for i, node in enumerate(g.node):
            op = (node.domain, node.op_type)
            if op not in known:
                known[op] = op in functions or unknown_op_note(node.op_type, node.domain) is None
            if not known[op]:
                unknown[node.op_type] = unknown.get(node.op_type, 0) + 1
            for name in node.input:
                if name and name not in local and not visible(name):
                    undefined_count += 1
                    if len(undefined) < 3:
                        label = safe_text(node.name or f"{node.op_type}#{i}", 40)
                        undefined.append(
                            f"node {label} reads '{safe_text(name, 40)}', which nothing defines"
                        )
            subs = _subgraph_items(node)
            if node.op_type == "If" and node.domain in ("", "ai.onnx"):
                branches = dict(subs)
                then, other = branches.get("then_branch"), branches.get("else_branch")
                if then is not None and other is not None:
                    counts = (len(then.output), len(other.output), len(node.output))
                    if len(set(counts)) > 1:
                        label = safe_text(node.name or f"{node.op_type}#{i}", 40)
                        out.append(
                            f"If {label} in {safe_text(where, 40)}: then_branch has "
                            f"{counts[0]} output{'s' if counts[0] != 1 else ''}, else_branch "
                            f"{counts[1]}, the node {counts[2]}"
                        )
            for key, sub in subs:
                stack.append((sub, scopes, f"{node.name or node.op_type}.{key}"))
        for vi in g.output:
            if vi.name and not visible(vi.name):
                undefined_count += 1
                if len(undefined) < 3:
                    undefined.append(
                        f"{safe_text(where, 40)} output '{safe_text(vi.name, 40)}' is never defined"
                    )
    for op_type, n in sorted(unknown.items()):
        suffix = f" ({n} nodes)" if n > 1 else ""
        out.append(
            f"unknown op {safe_text(op_type, 40)}{suffix}: onnx {_onnx_version()} does not know it"
        )
    out.extend(undefined)
    if undefined_count > len(undefined):
        out.append(f"… {undefined_count - len(undefined):,} more undefined names")
    try:
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:
        first = one_line(str(exc), 120) or type(exc).__name__
        if not any(benign in first for benign in _BENIGN_CHECKER):
            out.append(f"onnx checker: {first}")
    if len(out) > MAX_LINT_WARNINGS:
        out = [*out[: MAX_LINT_WARNINGS - 1], f"… {len(out) - MAX_LINT_WARNINGS + 1} more warnings"]
    return [one_line(w) for w in out]
