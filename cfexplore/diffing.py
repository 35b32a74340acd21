"""Compare a PyTorch output with an ONNX Runtime output (numpy only)."""

from __future__ import annotations

import numpy as np

from cfexplore.results import TensorDiff

HIST_EDGES = [10.0**e for e in range(-9, 1)]
"""Decade edges of the |diff| histogram: 1e-9 ... 1e0 (11 bins)."""


def compare(
    index: int, name: str, ref: np.ndarray | None, got: np.ndarray | None, rtol: float, atol: float
) -> TensorDiff:
    """Diff `got` (ONNX) against `ref` (PyTorch): max abs/rel, count outside tolerance.

    An element passes when |got - ref| <= atol + rtol * |ref| (numpy.isclose), NaN equal
    to NaN. Shapes must match exactly; a dtype change alone is noted but not a failure.
    """

    def unmatched(total: int, note: str) -> TensorDiff:
        return TensorDiff(
            index,
            name,
            list(ref.shape) if ref is not None else None,
            str(ref.dtype) if ref is not None else None,
            list(got.shape) if got is not None else None,
            str(got.dtype) if got is not None else None,
            None,
            None,
            0,
            total,
            False,
            note=note,
        )

    if ref is None or got is None:
        return unmatched(0, f"no {'PyTorch' if ref is None else 'ONNX'} output")
    if ref.shape != got.shape:
        return unmatched(int(ref.size), "shape differs")
    rshape, gshape = list(ref.shape), list(got.shape)
    rdt, gdt = str(ref.dtype), str(got.dtype)
    note = "" if rdt == gdt else f"dtype {rdt} vs {gdt}"
    a, b = _as_float(ref), _as_float(got)
    try:
        close = np.isclose(b, a, rtol=rtol, atol=atol, equal_nan=True)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(b - a)
            both_nan = np.isnan(a) & np.isnan(b)
            diff = np.where(both_nan, 0.0, diff)
            diff = np.where(np.isnan(diff), np.inf, diff)
            rel = diff / np.maximum(np.abs(a), np.finfo(np.float64).tiny)
    except TypeError:
        equal = np.array_equal(a, b)
        return TensorDiff(
            index,
            name,
            rshape,
            rdt,
            gshape,
            gdt,
            None,
            None,
            0 if equal else int(a.size),
            int(a.size),
            equal,
            note="compared exactly",
        )
    mism = int(close.size - np.count_nonzero(close))
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(np.where(diff == 0, 0.0, rel).max()) if diff.size else 0.0
    hist = (
        np.histogram(np.clip(diff.ravel(), 0, 1e30), bins=[0.0, *HIST_EDGES, np.inf])[0].tolist()
        if diff.size
        else []
    )
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
        note=note,
        histogram=hist,
    )


def _as_float(x: np.ndarray) -> np.ndarray:
    """Numbers and bools as float64 for diffing; other dtypes unchanged."""
    return x.astype(np.float64) if x.dtype.kind in "fbiu" else x


def same(a: list[np.ndarray], b: list[np.ndarray], rtol: float, atol: float) -> bool:
    """Whether two lists of outputs agree within tolerance (used for 'did PyTorch change?')."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            return False
        try:
            if not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
                return False
        except TypeError:
            if not np.array_equal(x, y):
                return False
    return True
