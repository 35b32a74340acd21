"""The allclose rule per element, for `diffing`: exact integer distances, float closeness
with the NaN/Inf rules, relative errors (numpy only)."""

from __future__ import annotations

import numpy as np

_TINY = np.finfo(np.float64).tiny


def rel_error(diff: np.ndarray, mag: np.ndarray) -> np.ndarray:
    """|diff| / |ref| (|ref| floored at the smallest normal float64); 0 where diff is 0."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        rel = diff / np.maximum(mag, _TINY)
    rel = np.where(np.isnan(rel), np.inf, rel)
    return np.where(diff == 0, 0.0, rel)


def int_absdiff(ref: np.ndarray, got: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact equality and |got - ref| as float64 for any two integer/bool arrays.

    No wrap-around: int64 pairs are subtracted in uint64 (exact modulo 2**64, and the true
    distance fits), uint64 against a signed value goes through float64 where it is negative.
    """
    u64 = np.uint64

    def dist_u(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.where(x >= y, x - y, y - x).astype(np.float64)
        return out

    def is_u64(x: np.ndarray) -> bool:
        return x.dtype.kind == "u" and x.dtype.itemsize == 8

    if not is_u64(ref) and not is_u64(got):
        a, b = ref.astype(np.int64), got.astype(np.int64)
        d = np.where(a >= b, a.view(u64) - b.view(u64), b.view(u64) - a.view(u64))
        return a == b, d.astype(np.float64)
    if ref.dtype.kind in "ub" and got.dtype.kind in "ub":
        a, b = ref.astype(u64), got.astype(u64)
        return a == b, dist_u(a, b)
    s, u = (got, ref) if is_u64(ref) else (ref, got)
    s = s.astype(np.int64)
    nonneg = s >= 0
    su = np.where(nonneg, s, 0).astype(u64)
    eq = nonneg & (su == u)
    with np.errstate(over="ignore"):
        far = u.astype(np.float64) - s.astype(np.float64)
    return eq, np.where(nonneg, dist_u(su, u), far)


def float_close(
    a: np.ndarray, b: np.ndarray, rtol: float, atol: float, equal_nan: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Per element: within tolerance, |b - a| (inf where not comparable), and NaN/Inf counts."""
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    a_inf, b_inf = np.isinf(a), np.isinf(b)
    finite = ~(a_nan | b_nan | a_inf | b_inf)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(finite, np.abs(b - a), 0.0).real.astype(np.float64)
        close = finite & (diff <= atol + rtol * np.abs(a))
    both_nan = a_nan & b_nan
    nan_bad = (a_nan | b_nan) & ~(both_nan & equal_nan)
    # an infinity equals only itself (same sign; for complex: the same value)
    inf_any = (a_inf | b_inf) & ~(a_nan | b_nan)
    with np.errstate(invalid="ignore"):
        inf_same = inf_any & (a == b)
    inf_bad = inf_any & ~inf_same
    close = close | (both_nan & equal_nan) | inf_same
    diff = np.where(nan_bad | inf_bad | (finite & np.isnan(diff)), np.inf, diff)
    counts = {
        "NaN vs NaN": int(np.count_nonzero(both_nan & ~close)),
        "NaN vs number": int(np.count_nonzero(a_nan ^ b_nan)),
        "Inf mismatch": int(np.count_nonzero(inf_bad)),
    }
    return close, diff, counts
