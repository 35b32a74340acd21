"""`ErrorStats`: the error statistics of one compared output (a leaf: plain data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ErrorStats:
    """Mean, median and 99th percentile of |got - ref| and of the relative error over the
    elements of one output, and the smallest atol at the run's rtol that would pass it
    under the check mode (None: no atol would, e.g. NaN against a number)."""

    mean_abs: float
    median_abs: float
    p99_abs: float
    mean_rel: float
    median_rel: float
    p99_rel: float
    min_atol: float | None
