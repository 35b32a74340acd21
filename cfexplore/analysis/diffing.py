"""Compare a PyTorch output with an ONNX Runtime output (numpy only).

The allclose rule (|got - ref| <= atol + rtol*|ref|; `analysis.tolerance` has Polygraphy's,
`mode="polygraphy"`): no broadcasting (shapes must match exactly), NaN never equals a number
and equals NaN only when asked (`equal_nan`), infinities are equal only to the same infinity,
integers are diffed exactly (no wrap-around), bools by XOR, half and bfloat16 in float64.
Sequence outputs (Python lists from ORT), maps (dicts) and empty optionals (`None`)
are diffed element by element; anything else is compared exactly or reported not comparable.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from cfexplore.analysis.elementwise import float_close, int_absdiff, rel_error
from cfexplore.analysis.errstats import allclose_min_atol, error_stats
from cfexplore.analysis.tolerance import apply_polygraphy
from cfexplore.results import TensorDiff

HIST_EDGES = [10.0**e for e in range(-9, 1)]
"""Decade edges of the |diff| histogram: 1e-9 ... 1e0 (11 bins)."""

_BINS = [0.0, *HIST_EDGES, np.inf]


class _Missing:
    """A position one side did not produce at all (unlike `None`, an empty optional)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Pass as `ref` or `got` for an output position that side did not produce."""


def compare(
    index: int,
    name: str,
    ref: Any,
    got: Any,
    rtol: float,
    atol: float,
    equal_nan: bool = False,
    mode: str = "allclose",
) -> TensorDiff:
    """Diff `got` (ONNX) against `ref` (PyTorch): max abs/rel, count outside tolerance.

    A numeric element passes when |got - ref| <= atol + rtol * |ref|. NaN vs a number fails;
    NaN vs NaN fails unless `equal_nan`; +Inf equals only +Inf and -Inf only -Inf. Integers
    are diffed exactly, bools by XOR (tolerances do not apply), float16/bfloat16 in float64.
    Shapes must match exactly (no broadcasting); a dtype change alone is noted, not a failure.
    Empty tensors of the same shape are equal.

    Takes any output value ORT or PyTorch can give and never raises. A sequence gives one
    summary TensorDiff (its `elements` hold one TensorDiff per element, its note says e.g.
    "sequence of 3: all equal" or "element 1: shape differs [2] vs [3]"); dtype is
    "seq(<element dtype>)" and shape [length]. Dicts (maps) likewise. `None` vs `None` is
    equal; `MISSING` (see `worker.outputs.compare_all`) is a side with no output at all.
    `mode="polygraphy"` decides numeric tensors by Polygraphy's rule (`analysis.tolerance`).
    """
    try:
        return _compare_any(index, name, ref, got, rtol, atol, equal_nan, mode)
    except Exception as exc:  # a diff must never take the run down with it
        return _unmatched(
            index, name, ref, got, 0, f"not comparable: {type(exc).__name__}: {exc}"[:200]
        )


def _compare_any(
    index: int,
    name: str,
    ref: Any,
    got: Any,
    rtol: float,
    atol: float,
    equal_nan: bool,
    mode: str = "allclose",
) -> TensorDiff:
    tol = (rtol, atol, equal_nan, mode)
    if ref is MISSING or got is MISSING:
        side = "PyTorch" if ref is MISSING else "ONNX"
        return _unmatched(index, name, ref, got, _size(ref), f"no {side} output")
    if ref is None and got is None:
        return TensorDiff(
            index, name, None, "none", None, "none", 0.0, 0.0, 0, 0, True, note="both None"
        )
    if ref is None or got is None:
        side = "PyTorch" if ref is None else "ONNX"
        return _unmatched(index, name, ref, got, _size(ref), f"no {side} output (None)")
    if isinstance(ref, (list, tuple)) or isinstance(got, (list, tuple)):
        return _compare_seq(index, name, ref, got, *tol)
    if isinstance(ref, dict) or isinstance(got, dict):
        return _compare_map(index, name, ref, got, *tol)
    r, g = np.asarray(ref), np.asarray(got)
    diff = _compare_tensor(index, name, r, g, rtol, atol, equal_nan)
    diff.rtol, diff.atol = rtol, atol
    if (
        mode == "polygraphy"
        and diff.stats is not None
        and "o" not in (_kind(r.dtype), _kind(g.dtype))
    ):
        return apply_polygraphy(diff, r, g, rtol, atol)
    return diff


def _size(x: Any) -> int:
    if x is None or x is MISSING:
        return 0
    if isinstance(x, (list, tuple, dict)):
        return len(x)
    try:
        return int(np.size(x))
    except Exception:
        return 0


def _describe(x: Any) -> tuple[list[int] | None, str | None]:
    """(shape, dtype) as TensorDiff shows them."""
    if x is MISSING:
        return None, None
    if x is None:
        return None, "none"
    if isinstance(x, (list, tuple)):
        inner = sorted({_describe(e)[1] or "?" for e in x})
        return [len(x)], f"seq({'|'.join(inner)})"
    if isinstance(x, dict):
        return [len(x)], "map"
    try:
        arr = np.asarray(x)
    except Exception:
        return None, type(x).__name__
    return list(arr.shape), str(arr.dtype)


def _unmatched(index: int, name: str, ref: Any, got: Any, total: int, note: str) -> TensorDiff:
    rshape, rdt = _describe(ref)
    gshape, gdt = _describe(got)
    return TensorDiff(index, name, rshape, rdt, gshape, gdt, None, None, 0, total, False, note)


def _merge(
    index: int,
    name: str,
    ref: Any,
    got: Any,
    parts: list[TensorDiff],
    note: str,
    passed: bool,
) -> TensorDiff:
    """A sequence's or map's summary TensorDiff over its elements' diffs."""
    rshape, rdt = _describe(ref)
    gshape, gdt = _describe(got)
    abs_vals = [p.max_abs for p in parts if p.max_abs is not None]
    rel_vals = [p.max_rel for p in parts if p.max_rel is not None]
    hist = [0] * (len(_BINS) - 1)
    for p in parts:
        for i, c in enumerate(p.histogram):
            hist[i] += c
    return TensorDiff(
        index,
        name,
        rshape,
        rdt,
        gshape,
        gdt,
        max(abs_vals) if abs_vals else (0.0 if passed else None),
        max(rel_vals) if rel_vals else (0.0 if passed else None),
        sum(p.mismatches for p in parts),
        sum(p.total for p in parts),
        passed,
        note=note,
        histogram=hist if any(hist) else [],
        elements=parts,
    )


def _first_failure(parts: list[TensorDiff], label: str) -> str:
    bad = [p for p in parts if not p.passed]
    first = bad[0]
    detail = first.note or f"{first.mismatches}/{first.total} outside tolerance"
    more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
    return f"{label} {first.index}: {detail}{more}"


def _compare_seq(index: int, name: str, ref: Any, got: Any, *tol: Any) -> TensorDiff:
    """`tol`: compare()'s rtol, atol, equal_nan and mode, passed on to each element."""
    if not isinstance(ref, (list, tuple)) or not isinstance(got, (list, tuple)):
        what = "sequence vs tensor" if isinstance(ref, (list, tuple)) else "tensor vs sequence"
        return _unmatched(index, name, ref, got, _size(ref), f"not comparable: {what}")
    parts = [
        compare(i, f"{name}[{i}]", r, g, *tol)
        for i, (r, g) in enumerate(zip(ref, got, strict=False))
    ]
    if len(ref) != len(got):
        note = f"sequence length differs: {len(ref)} vs {len(got)}"
        return _merge(index, name, ref, got, parts, note, False)
    if all(p.passed for p in parts):
        note = f"sequence of {len(ref)}: all equal" if ref else "empty sequence"
        return _merge(index, name, ref, got, parts, note, True)
    return _merge(index, name, ref, got, parts, _first_failure(parts, "element"), False)


def _compare_map(index: int, name: str, ref: Any, got: Any, *tol: Any) -> TensorDiff:
    """`tol`: compare()'s rtol, atol, equal_nan and mode, passed on to each element."""
    if not isinstance(ref, dict) or not isinstance(got, dict):
        return _unmatched(index, name, ref, got, _size(ref), "not comparable: map vs non-map")
    if set(ref) != set(got):
        only = sorted(map(str, set(ref) ^ set(got)))[:3]
        return _unmatched(index, name, ref, got, len(ref), f"map keys differ: {only}")
    keys = sorted(ref, key=str)
    parts = [compare(i, f"{name}[{k!r}]", ref[k], got[k], *tol) for i, k in enumerate(keys)]
    if all(p.passed for p in parts):
        return _merge(index, name, ref, got, parts, f"map of {len(keys)}: all equal", True)
    return _merge(index, name, ref, got, parts, _first_failure(parts, "entry"), False)


# --- tensors ------------------------------------------------------------------------------


def _kind(dt: np.dtype) -> str:
    """b(ool), i(nt: signed or unsigned), f(loat), c(omplex) or o(ther, compared exactly)."""
    if dt.kind == "b":
        return "b"
    if dt.kind in "iu":
        return "i"
    if dt.kind == "f":
        return "f"
    if dt.kind == "c":
        return "c"
    if dt.kind == "V" and _ml_float(dt):
        return "f"
    return "o"


def _ml_float(dt: np.dtype) -> bool:
    """bfloat16 / float8 types from ml_dtypes (numpy sees them as void)."""
    try:
        import ml_dtypes

        ml_dtypes.finfo(dt)  # type: ignore[no-untyped-call]  # ml_dtypes' finfo is untyped
        return True
    except Exception:
        return False


def _compare_tensor(
    index: int,
    name: str,
    ref: np.ndarray,
    got: np.ndarray,
    rtol: float,
    atol: float,
    equal_nan: bool,
) -> TensorDiff:
    rshape, gshape = list(ref.shape), list(got.shape)
    rdt, gdt = str(ref.dtype), str(got.dtype)
    if ref.shape != got.shape:
        return _unmatched(
            index, name, ref, got, int(ref.size), f"shape differs: {rshape} vs {gshape}"
        )
    notes = [] if rdt == gdt else [f"dtype {rdt} vs {gdt}"]

    def result(
        diff: np.ndarray | None,
        rel: np.ndarray | None,
        close: np.ndarray,
        mag: np.ndarray | None = None,
    ) -> TensorDiff:
        mism = int(close.size - np.count_nonzero(close))
        stats = None
        if diff is None or rel is None:
            max_abs = max_rel = None
            hist: list[int] = []
        else:
            min_atol = allclose_min_atol(
                diff, mag if mag is not None else diff, rtol, mag is not None
            )
            stats = error_stats(diff, rel, min_atol)
            max_abs = float(diff.max()) if diff.size else 0.0
            max_rel = float(rel.max()) if rel.size else 0.0
            hist = np.histogram(np.clip(diff.ravel(), 0, 1e30), bins=_BINS)[0].tolist()
            hist = hist if diff.size else []
        return TensorDiff(
            index,
            name,
            rshape,
            rdt,
            gshape,
            gdt,
            max_abs,
            max_rel,
            mism,
            int(close.size),
            mism == 0,
            note="; ".join(notes),
            histogram=hist,
            stats=stats,
        )

    if ref.size == 0:
        return result(np.zeros(0), np.zeros(0), np.ones(0, dtype=bool), np.zeros(0))
    rk, gk = _kind(ref.dtype), _kind(got.dtype)
    if rk == "o" or gk == "o":
        if rk != gk:
            return _unmatched(
                index, name, ref, got, int(ref.size), f"not comparable: {rdt} vs {gdt}"
            )
        try:
            close = np.asarray(ref == got, dtype=bool).reshape(ref.shape)
        except Exception:
            close = np.full(ref.shape, np.array_equal(ref, got), dtype=bool)
        notes.append("compared exactly")
        return result(None, None, close)
    if rk == gk == "b":
        close = ~(ref ^ got)
        diff = (~close).astype(np.float64)
        return result(diff, diff, close)
    if rk in "bi" and gk in "bi":
        eq, diff = int_absdiff(ref, got)
        mag = np.abs(ref.astype(np.float64))
        close = eq | (diff <= atol + rtol * mag)
        return result(diff, rel_error(diff, mag), close, mag)
    dtype = np.complex128 if "c" in (rk, gk) else np.float64
    a, b = ref.astype(dtype), got.astype(dtype)
    close, diff, counts = float_close(a, b, rtol, atol, equal_nan)
    for what, n in counts.items():
        if n:
            notes.append(f"{what} at {n} element{'s' if n > 1 else ''}")
    return result(diff, rel_error(diff, np.abs(a)), close, np.abs(a).real.astype(np.float64))


def same(a: list[Any], b: list[Any], rtol: float, atol: float) -> bool:
    """Whether two lists of outputs agree within tolerance (used for 'did PyTorch change?').

    Eager against eager: NaN at the same place counts as equal here (`equal_nan=True`).
    """
    if len(a) != len(b):
        return False
    return all(
        compare(i, "", y, x, rtol, atol, equal_nan=True).passed
        for i, (x, y) in enumerate(zip(a, b, strict=True))
    )


def input_hash(inputs: dict[str, Any]) -> str:
    """sha256 over input names (sorted), dtypes, shapes and bytes: equal hash = same inputs.

    Lists (sequence inputs) and `None` are hashed structurally.
    """
    h = hashlib.sha256()

    def feed(value: Any) -> None:
        if value is None:
            h.update(b"N;")
        elif isinstance(value, (list, tuple)):
            h.update(f"L{len(value)};".encode())
            for v in value:
                feed(v)
        else:
            arr = np.ascontiguousarray(np.asarray(value))
            h.update(f"T{arr.dtype.str}{list(arr.shape)}{arr.nbytes};".encode())
            h.update(arr.tobytes())

    for name in sorted(inputs):
        key = name.encode()
        h.update(f"K{len(key)};".encode() + key)
        feed(inputs[name])
    return h.hexdigest()
