"""`--check-mode polygraphy` decides exactly as Polygraphy's own `CompareFunc.simple` (run
here, in the test process, on the same arrays); `allclose` differs where it should; the
statistics and `min_atol` of both modes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cfexplore.analysis.diffing import compare

pytest.importorskip("polygraphy")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # Polygraphy's own 0/0s

inf, nan = np.inf, np.nan


def _polygraphy(ref: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> bool:
    """Polygraphy's verdict for `got` (its first runner) against `ref` (its second)."""
    from polygraphy.comparator import CompareFunc, IterationResult
    from polygraphy.logger import G_LOGGER

    G_LOGGER.module_severity = G_LOGGER.CRITICAL
    func = CompareFunc.simple(rtol=rtol, atol=atol)
    res = func(
        IterationResult({"o": got}, runner_name="got"),
        IterationResult({"o": ref}, runner_name="ref"),
    )
    return bool(res["o"])


def _polygraphy_count(ref: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> int:
    """Polygraphy's mismatch count: its verdict on each element alone."""
    return sum(
        not _polygraphy(ref.reshape(-1)[i : i + 1], got.reshape(-1)[i : i + 1], rtol, atol)
        for i in range(ref.size)
    )


rng = np.random.default_rng(0)
_r = rng.standard_normal(24).astype(np.float32)
CASES: list[tuple[str, Any, Any, float, float]] = [
    ("random f32", _r, _r + rng.normal(0, 1e-3, 24).astype(np.float32), 1e-3, 1e-4),
    ("random f64", _r.astype(np.float64), _r * 1.001, 1e-3, 1e-5),
    ("f16", _r.astype(np.float16), (_r * 1.002).astype(np.float16), 1e-3, 1e-3),
    ("NaN", np.array([1.0, nan, nan, 2.0]), np.array([1.0, nan, 3.0, nan]), 1e-3, 1e-5),
    ("±Inf", np.array([inf, -inf, 1.0, inf]), np.array([-inf, inf, inf, 1.0]), 1e-3, 1e-5),
    (
        "matching Inf",
        np.array([inf, -inf, 1.0], np.float32),
        np.array([inf, -inf, 1.0], np.float32),
        1e-3,
        1e-5,
    ),  # fmt: skip
    (
        "zeros in ref",
        np.array([0.0, 0.0, 1.0], np.float32),
        np.array([0.0, 1e-6, 1.0], np.float32),
        1e-3,
        1e-7,
    ),  # fmt: skip
    ("int32", np.array([1, 5, -3, 100], np.int32), np.array([1, 6, -3, 90], np.int32), 0.05, 1),
    ("int64 zero ref", np.array([0, 0, 7]), np.array([0, 2, 7]), 1e-3, 1.0),
    ("uint8", np.array([1, 200, 3], np.uint8), np.array([2, 190, 3], np.uint8), 0.06, 0.5),
    (
        "bool",
        np.array([True, False, True, False]),
        np.array([True, True, False, False]),
        1e-3,
        1e-5,
    ),  # fmt: skip
    ("bool rtol 1", np.array([True, False, True]), np.array([False, True, True]), 1.0, 1e-5),
    ("both tolerances", np.array([1.0, 1.0, 10.0]), np.array([1.8, 1.4, 10.8]), 0.5, 0.5),
    ("empty", np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), 1e-3, 1e-5),
    ("scalar", np.array(2.0, np.float32), np.array(2.01, np.float32), 1e-3, 1e-5),
]


@pytest.mark.parametrize(("label", "ref", "got", "rtol", "atol"), CASES, ids=[c[0] for c in CASES])
def test_polygraphy_mode_matches_polygraphy(
    label: str, ref: Any, got: Any, rtol: float, atol: float
) -> None:
    d = compare(0, "o", ref, got, rtol, atol, mode="polygraphy")
    assert d.passed == _polygraphy(ref, got, rtol, atol), label
    assert d.mismatches == _polygraphy_count(ref, got, rtol, atol), label
    if d.stats is not None and d.stats.min_atol is not None:  # the smallest passing atol
        assert _polygraphy(ref, got, rtol, d.stats.min_atol), label
        if d.stats.min_atol > 0:
            assert not _polygraphy(ref, got, rtol, d.stats.min_atol * 0.999), label


def test_the_mode_decides_the_verdict() -> None:
    ref, got = np.array([1.0, 1.0, 10.0]), np.array([1.8, 1.4, 10.8])
    # |d| = 0.8 <= 0.5 + 0.5*1 passes allclose; 0.8 is over both 0.5 and 0.5*1: Polygraphy fails
    assert compare(0, "o", ref, got, 0.5, 0.5).passed
    assert not compare(0, "o", ref, got, 0.5, 0.5, mode="polygraphy").passed
    inf_pair = np.array([inf, 1.0]), np.array([inf, 1.0])
    assert compare(0, "o", *inf_pair, 1e-3, 1e-5).passed  # the same infinity is equal
    assert not compare(0, "o", *inf_pair, 1e-3, 1e-5, mode="polygraphy").passed


def test_allclose_statistics_and_min_atol() -> None:
    ref = np.array([1.0, 2.0, 4.0, 8.0])
    got = ref + np.array([0.0, 0.01, 0.02, 0.5])
    d = compare(0, "o", ref, got, 1e-3, 1e-5)
    assert not d.passed and d.mismatches == 3
    st = d.stats
    assert st is not None
    assert st.mean_abs == pytest.approx(0.1325)
    assert st.median_abs == pytest.approx(0.015)
    assert st.p99_abs == pytest.approx(np.percentile([0, 0.01, 0.02, 0.5], 99))
    assert st.mean_rel == pytest.approx(np.mean([0, 0.005, 0.005, 0.0625]))
    assert st.min_atol == pytest.approx(0.5 - 1e-3 * 8.0)
    assert compare(0, "o", ref, got, 1e-3, st.min_atol * (1 + 1e-9)).passed
    assert not compare(0, "o", ref, got, 1e-3, st.min_atol * 0.99).passed


def test_min_atol_is_none_when_no_atol_passes() -> None:
    d = compare(0, "o", np.array([1.0, nan]), np.array([1.0, 2.0]), 1e-3, 1e-5)
    assert d.stats is not None and d.stats.min_atol is None
    shape = compare(0, "o", np.zeros(2), np.zeros(3), 1e-3, 1e-5)
    assert shape.stats is None and not shape.passed
    bools = compare(0, "o", np.array([True]), np.array([False]), 1e-3, 1e-5)
    assert bools.stats is not None and bools.stats.min_atol is None


@pytest.mark.parametrize("command", ["diff", "check", "report", "matrix"])
def test_tolerance_options_reach_the_settings(command: str) -> None:
    from cfexplore.cli.common import settings_from_args
    from cfexplore.cli.parser import build_parser
    from cfexplore.engine.commands import command_for
    from cfexplore.spec import TargetSpec

    target = [] if command == "matrix" else ["if-forward-arg"]
    argv = [command, *target, "--atol", "2e-5", "--atol", "output=1e-2", "--rtol", "output=0.1"]
    args = build_parser().parse_args([*argv, "--check-mode", "polygraphy"])
    s = settings_from_args(args)
    assert (s.atol, s.rtol, s.check_mode) == (2e-5, 1e-3, "polygraphy")
    assert s.output_atol == {"output": 1e-2} and s.output_rtol == {"output": 0.1}
    again = command_for(TargetSpec(variant="if-forward-arg"), command, settings=s)
    assert "--atol=output=0.01" in again and "--check-mode polygraphy" in again
