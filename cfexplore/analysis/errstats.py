"""Error statistics of one compared output: mean/median/p99 of the abs and rel errors and
the smallest atol that would pass it at the run's rtol (numpy only)."""

from __future__ import annotations

import numpy as np

from cfexplore.errstats_types import ErrorStats


def _stat(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, median, p99) of a float64 array (inf stays inf; empty gives zeros)."""
    if values.size == 0:
        return 0.0, 0.0, 0.0
    flat = values.ravel().astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = float(np.mean(flat))
        median, p99 = (float(x) for x in np.percentile(flat, [50.0, 99.0], method="linear"))
    if np.isinf(flat).any():  # percentiles through inf give nan; say inf
        mean = float("inf")
        median = median if not np.isnan(median) else float("inf")
        p99 = p99 if not np.isnan(p99) else float("inf")
    return mean, median, p99


def allclose_min_atol(
    diff: np.ndarray, mag: np.ndarray, rtol: float, tolerant: bool
) -> float | None:
    """The smallest atol under which every element passes |d| <= atol + rtol*|ref|:
    max(|d| - rtol*|ref|) floored at 0. None when some element fails at any atol (an inf
    diff: NaN against a number, a mismatched infinity) or tolerances do not apply
    (`tolerant` False: bools, exact compares) and some element differs."""
    if diff.size == 0:
        return 0.0
    if not tolerant:
        return 0.0 if not np.any(diff) else None
    if np.isinf(diff).any() or np.isnan(diff).any():
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        need = float(np.max(diff - rtol * mag))
    return max(need, 0.0)


def error_stats(diff: np.ndarray, rel: np.ndarray, min_atol: float | None) -> ErrorStats:
    """ErrorStats from the per-element |diff| and relative error arrays."""
    ma, mda, pa = _stat(diff)
    mr, mdr, pr = _stat(rel)
    return ErrorStats(ma, mda, pa, mr, mdr, pr, min_atol)
