"""The check modes and per-output tolerances of a comparison (numpy only).

`allclose` (the default) is `diffing`'s rule: an element passes when
|got - ref| <= atol + rtol*|ref|. `polygraphy` is Polygraphy 0.53's `CompareFunc.simple`
with its defaults (`check_error_stat="elemwise"`, `infinities_compare_equal=False`),
reproduced step by step from its source (`comparator/compare.py`): with `ref` as its second
output (the one relative errors divide by),

    absdiff = |cast_up(got) - cast_up(ref)|       (XOR when both are bool)
    reldiff = absdiff / |ref|, where ref == 0 is replaced by ref + 2.22e-16 (floats only)
    fail    = (absdiff > atol or absdiff is NaN) and (reldiff > rtol or reldiff is NaN)

`cast_up` widens float16 to float32, int8/uint8/int16/uint16 to int32 and uint32 to int64;
everything else is computed in its own dtype (float32 stays float32, int64 wraps). So an
element fails only outside *both* tolerances, every NaN fails (there is no equal-NaN
option), and matching infinities fail too (inf - inf is NaN).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cfexplore.errors import CfxError
from cfexplore.errstats_types import ErrorStats
from cfexplore.results import TensorDiff

POLYGRAPHY_EPSILON = 2.220446049250313e-16
"""What Polygraphy adds to zeros of the reference before dividing by it."""


@dataclass(frozen=True)
class Tolerances:
    """rtol/atol (global and per output name), the NaN rule and the check mode."""

    rtol: float
    atol: float
    equal_nan: bool = False
    mode: str = "allclose"
    output_rtol: dict[str, float] = field(default_factory=dict, hash=False)
    output_atol: dict[str, float] = field(default_factory=dict, hash=False)

    @classmethod
    def from_settings(cls, settings: Any) -> Tolerances:
        """The tolerances of a `RunSettings`."""
        return cls(
            settings.rtol,
            settings.atol,
            settings.equal_nan,
            settings.check_mode,
            dict(settings.output_rtol or {}),
            dict(settings.output_atol or {}),
        )

    def for_output(self, name: str) -> tuple[float, float]:
        """(rtol, atol) for the output `name`."""
        return self.output_rtol.get(name, self.rtol), self.output_atol.get(name, self.atol)

    def check_names(self, names: list[str]) -> None:
        """CfxError (one line) for a per-output tolerance naming no output."""
        for flag, given in (("--rtol", self.output_rtol), ("--atol", self.output_atol)):
            unknown = sorted(set(given) - set(names))
            if unknown:
                known = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
                raise CfxError(
                    f"{flag} {unknown[0]}=...: no output named {unknown[0]!r} "
                    f"(outputs: {known or 'none'})"
                )


def _cast_up(x: np.ndarray) -> np.ndarray:
    """Polygraphy's `comparator.util.cast_up` for numpy arrays."""
    if x.dtype == np.float16:
        return x.astype(np.float32)
    if x.dtype in (np.int8, np.uint8, np.int16, np.uint16):
        return x.astype(np.int32)
    if x.dtype == np.uint32:
        return x.astype(np.int64)
    return x


def polygraphy_errors(ref: np.ndarray, got: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygraphy's (absdiff, reldiff) arrays for `got` against `ref` (same shapes)."""
    with np.errstate(all="ignore"):
        if ref.dtype == np.bool_ and got.dtype == np.bool_:
            absdiff = np.logical_xor(got, ref)
        else:
            absdiff = np.array(np.abs(np.array(_cast_up(got) - _cast_up(ref))))
        base = np.array(_cast_up(ref), copy=True)
        if base.dtype.kind == "f":
            base[base == 0] += POLYGRAPHY_EPSILON
        reldiff = np.asarray(absdiff / np.array(np.abs(base)))
    return np.asarray(absdiff), reldiff


def polygraphy_fail(
    absdiff: np.ndarray, reldiff: np.ndarray, rtol: float, atol: float
) -> np.ndarray:
    """Per element: outside both tolerances (NaN counts as outside)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(
            (np.greater(absdiff, atol) | np.isnan(absdiff))
            & (np.greater(reldiff, rtol) | np.isnan(reldiff))
        )


def polygraphy_min_atol(absdiff: np.ndarray, reldiff: np.ndarray, rtol: float) -> float | None:
    """The smallest atol at `rtol` under which no element fails Polygraphy's rule: the
    largest absdiff among the elements outside rtol; None if one of those is NaN or inf
    (no finite atol passes it)."""
    with np.errstate(invalid="ignore"):
        need = np.greater(reldiff, rtol) | np.isnan(reldiff)
    outside = np.asarray(absdiff)[need].astype(np.float64)
    if outside.size == 0:
        return 0.0
    if not np.isfinite(outside).all():
        return None
    return float(outside.max())


def apply_polygraphy(
    diff: TensorDiff, ref: np.ndarray, got: np.ndarray, rtol: float, atol: float
) -> TensorDiff:
    """`diff` (cfexplore's statistics of two equal-shape numeric tensors) with the pass/fail
    decision, mismatch count and min_atol of Polygraphy's elemwise rule."""
    if ref.size == 0:
        return diff
    try:
        absdiff, reldiff = polygraphy_errors(ref, got)
        fail = polygraphy_fail(absdiff, reldiff, rtol, atol)
        min_atol = polygraphy_min_atol(absdiff, reldiff, rtol)
    except Exception as exc:  # a dtype pair numpy cannot subtract
        note = f"not comparable by Polygraphy's rule: {type(exc).__name__}"
        return replace(diff, passed=False, note="; ".join(filter(None, [diff.note, note])))
    mism = int(np.count_nonzero(fail))
    stats = diff.stats or ErrorStats(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None)
    return replace(diff, mismatches=mism, passed=mism == 0, stats=replace(stats, min_atol=min_atol))
