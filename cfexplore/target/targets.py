"""Parse TARGET strings and `key=value` options, and check user files before loading them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.models import VARIANTS
from cfexplore.spec import InputSpec, TargetSpec
from cfexplore.target.source import find_class, parse_file

DTYPES = {"float32", "float64", "float16", "int64", "int32", "bool", "uint8", "int8"}


def parse_value(text: str) -> Any:
    """`true`/`false` -> bool, then int, float, Python literal, else the string itself."""
    low = text.strip().lower()
    if low in {"true", "false"}:
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside brackets and quotes: `a=1,cfg={"x": 1, "y": 2}` -> 2 parts."""
    parts: list[str] = []
    depth = 0
    quote = ""
    cur = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return parts


def parse_assignments(items: list[str] | None, what: str) -> dict[str, Any]:
    """`["a=1", "b=true,c=2"]` -> `{"a": 1, "b": True, "c": 2}` (commas outside brackets
    separate pairs); a malformed item is a CfxError."""
    out: dict[str, Any] = {}
    for item in items or []:
        pieces = split_top(item) if what == "--init" else [item]
        for piece in pieces:
            key, sep, val = piece.partition("=")
            if not sep or not key.strip():
                raise CfxError(f"{what} expects key=value, got {piece!r}")
            out[key.strip()] = parse_value(val)
    return out


def parse_values(items: list[str] | None) -> dict[str, tuple[Any, ...]]:
    """`--values sr=8000,16000` -> `{"sr": (8000, 16000)}`: the values a sweep tries."""
    out: dict[str, tuple[Any, ...]] = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        vals = tuple(parse_value(v) for v in split_top(val) if v.strip())
        if not sep or not key.strip() or not vals:
            raise CfxError(f"--values expects KNOB=v1,v2,..., got {item!r}")
        out[key.strip()] = tuple(dict.fromkeys(vals))
    return out


def _range(name: str, text: str) -> tuple[float, float]:
    lo_txt, sep, hi_txt = text.partition("..")
    try:
        lo, hi = float(lo_txt), float(hi_txt)
    except ValueError:
        raise CfxError(f"--input {name}: range must look like 0..100, got {text!r}") from None
    if not sep or hi <= lo:
        raise CfxError(f"--input {name}: range must be LOW..HIGH with LOW < HIGH, got {text!r}")
    return lo, hi


def parse_input(item: str) -> InputSpec:
    """`x=1x3x8x8`, `x=1x3x8x8:float32`, `ids=1x8:int64:0..100` (values in [0, 100)) or
    `n=:int64` (a scalar) -> InputSpec."""
    name, sep, rest = item.partition("=")
    if not sep or not name.strip():
        raise CfxError(f"--input expects name=SHAPE[:dtype][:lo..hi] like x=1x3x8x8, got {item!r}")
    shape_txt, _, tail = rest.partition(":")
    dtype, _, range_txt = tail.partition(":")
    if ".." in dtype and not range_txt:
        dtype, range_txt = "", dtype
    dtype = dtype.strip() or "float32"
    if dtype not in DTYPES:
        raise CfxError(
            f"--input {name}: unknown dtype {dtype!r} (one of {', '.join(sorted(DTYPES))})"
        )
    try:
        shape = tuple(int(d) for d in shape_txt.lower().split("x") if d.strip())
    except ValueError:
        raise CfxError(f"--input {name}: shape must look like 1x3x8x8, got {shape_txt!r}") from None
    if any(d <= 0 for d in shape):
        raise CfxError(f"--input {name}: dimensions must be positive, got {shape_txt!r}")
    if range_txt.strip():
        lo, hi = _range(name, range_txt.strip())
        return InputSpec(name.strip(), shape, dtype, lo, hi)
    return InputSpec(name.strip(), shape, dtype)


def _weights_path(weights: str | None) -> str | None:
    """`--weights FILE`: must be a regular file; read later, in the worker, weights-only."""
    if weights is None:
        return None
    path = Path(weights)
    if not path.is_file():
        raise CfxError(f"--weights {weights}: no such file")
    return str(path.resolve())


def _module_file(name: str) -> str | None:
    """The file of `package.module`, found without importing anything (no package code
    runs in this process): each part searched as a folder or file on `sys.path`
    (namespace packages included), then through `PathFinder` for anything else."""
    import sys

    parts = name.split(".")
    for entry in ["", *sys.path]:  # "": the current folder, first on the worker's path
        base = Path(entry or ".")
        folder = base.joinpath(*parts[:-1])
        if not folder.is_dir():
            continue
        for candidate in (folder / f"{parts[-1]}.py", folder / parts[-1] / "__init__.py"):
            if candidate.is_file():
                return str(candidate.resolve())
    from importlib.machinery import PathFinder

    path = None
    spec = None
    try:
        for part in parts:
            spec = PathFinder.find_spec(part if spec is None else f"{spec.name}.{part}", path)
            if spec is None:
                return None
            path = list(spec.submodule_search_locations or [])
    except (ImportError, KeyError, ValueError, AttributeError):
        return None
    return spec.origin if spec is not None else None


def is_module_target(text: str) -> bool:
    """`package.module:callable` (no `/`, no `.py`): an importable target."""
    mod, sep, attr = text.rpartition(":")
    if not sep or "/" in mod or mod.endswith(".py") or not attr.isidentifier():
        return False
    return all(part.isidentifier() for part in mod.split("."))


def parse_target(
    text: str,
    init: list[str] | None = None,
    inputs: list[str] | None = None,
    weights: str | None = None,
    values: list[str] | None = None,
) -> TargetSpec:
    """A built-in variant, `path/to/file.py:ClassName` or `package.module:callable`,
    checked without importing."""
    if text in VARIANTS:
        if init or inputs:
            raise CfxError("--init and --input apply to user files, not built-in variants")
        return TargetSpec(variant=text, weights=_weights_path(weights), values=parse_values(values))
    if is_module_target(text):
        mod, _, attr = text.rpartition(":")
        origin = _module_file(mod)
        if origin is None:
            raise CfxError(f"{mod}: no such module (is it installed in this Python?)")
        return TargetSpec(
            path=origin,
            class_name=attr,
            module=mod,
            init=parse_assignments(init, "--init"),
            inputs=tuple(parse_input(i) for i in inputs or []),
            weights=_weights_path(weights),
            values=parse_values(values),
        )
    path_txt, sep, cls = text.rpartition(":")
    if not sep:
        if text.endswith(".py"):
            raise CfxError(f"{text}: name the class too, as {text}:ClassName")
        if text.lower().endswith(".onnx"):
            raise CfxError(
                f"{text}: this command takes a model (a variant or file.py:Class), not an "
                ".onnx file (tree, audit, validate, compare and diff take those)"
            )
        raise CfxError(
            f"unknown variant {text!r} (see `cfexplore variants`; user code is "
            "path/to/file.py:Class or package.module:callable)"
        )
    path = Path(path_txt)
    if not path.exists():
        raise CfxError(f"{path_txt}: no such file")
    if not path.is_file():
        raise CfxError(f"{path_txt}: not a regular file")
    if path.suffix != ".py":
        raise CfxError(f"{path_txt}: not a Python file (expected path/to/file.py:ClassName)")
    if not cls.isidentifier():
        raise CfxError(f"{cls!r} is not a class name")
    try:
        tree = parse_file(path)
    except SyntaxError as exc:
        raise CfxError(f"{path_txt}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CfxError(f"{path_txt}: cannot read: {exc}") from None
    if find_class(tree, cls) is None and not _top_level_function(tree, cls):
        raise CfxError(f"{path_txt}: no class {cls!r} defined at top level")
    return TargetSpec(
        path=str(path.resolve()),
        class_name=cls,
        init=parse_assignments(init, "--init"),
        inputs=tuple(parse_input(i) for i in inputs or []),
        weights=_weights_path(weights),
        values=parse_values(values),
    )


def _top_level_function(tree: Any, name: str) -> bool:
    """Whether the file defines `def name(...)` at top level (a factory)."""
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)
