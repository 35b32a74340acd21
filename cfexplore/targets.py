"""Parse TARGET strings and `key=value` options, and check user files before loading them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.models import VARIANTS
from cfexplore.source import find_class, parse_file
from cfexplore.spec import InputSpec, TargetSpec

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


def parse_assignments(items: list[str] | None, what: str) -> dict[str, Any]:
    """`["a=1", "b=true"]` -> `{"a": 1, "b": True}`; a malformed item is a CfxError."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise CfxError(f"{what} expects key=value, got {item!r}")
        out[key.strip()] = parse_value(val)
    return out


def parse_input(item: str) -> InputSpec:
    """`x=1x3x8x8` or `x=1x3x8x8:float32` or `n=:int64` (a scalar) -> InputSpec."""
    name, sep, rest = item.partition("=")
    if not sep or not name.strip():
        raise CfxError(f"--input expects name=SHAPE[:dtype] like x=1x3x8x8, got {item!r}")
    shape_txt, _, dtype = rest.partition(":")
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
    return InputSpec(name.strip(), shape, dtype)


def _weights_path(weights: str | None) -> str | None:
    """`--weights FILE`: must be a regular file; read later, in the worker, weights-only."""
    if weights is None:
        return None
    path = Path(weights)
    if not path.is_file():
        raise CfxError(f"--weights {weights}: no such file")
    return str(path.resolve())


def parse_target(
    text: str,
    init: list[str] | None = None,
    inputs: list[str] | None = None,
    weights: str | None = None,
) -> TargetSpec:
    """A built-in variant name or `path/to/file.py:ClassName`, checked without importing."""
    if text in VARIANTS:
        if init or inputs:
            raise CfxError("--init and --input apply to user files, not built-in variants")
        return TargetSpec(variant=text, weights=_weights_path(weights))
    path_txt, sep, cls = text.rpartition(":")
    if not sep:
        if text.endswith(".py"):
            raise CfxError(f"{text}: name the class too, as {text}:ClassName")
        raise CfxError(f"unknown variant {text!r} (see `cfexplore variants`)")
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
    if find_class(tree, cls) is None:
        raise CfxError(f"{path_txt}: no class {cls!r} defined at top level")
    return TargetSpec(
        path=str(path.resolve()),
        class_name=cls,
        init=parse_assignments(init, "--init"),
        inputs=tuple(parse_input(i) for i in inputs or []),
        weights=_weights_path(weights),
    )
