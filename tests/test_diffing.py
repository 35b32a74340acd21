"""The PyTorch vs ONNX comparison itself, on hand-made arrays."""

from __future__ import annotations

import numpy as np

from cfexplore.diffing import compare, same


def test_identical() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    d = compare(0, "y", a, a.copy(), 1e-3, 1e-5)
    assert d.passed and d.max_abs == 0 and d.mismatches == 0 and d.total == 6
    assert sum(d.histogram) == 6


def test_tolerance_boundary() -> None:
    ref = np.array([1.0, 100.0], dtype=np.float32)
    got = ref + np.array([0.5e-3, 0.2], dtype=np.float32)
    d = compare(0, "y", ref, got, rtol=1e-3, atol=1e-5)
    assert d.mismatches == 1 and not d.passed
    assert abs(d.max_abs - 0.2) < 1e-4
    assert abs(d.max_rel - 0.002) < 1e-5


def test_shape_and_missing() -> None:
    d = compare(0, "y", np.zeros((2, 3)), np.zeros((3, 2)), 1e-3, 1e-5)
    assert not d.passed and d.note == "shape differs"
    d = compare(1, "z", np.zeros(2), None, 1e-3, 1e-5)
    assert not d.passed and "no ONNX output" in d.note


def test_nan_handling() -> None:
    ref = np.array([np.nan, 1.0])
    assert compare(0, "y", ref, ref.copy(), 1e-3, 1e-5).passed
    d = compare(0, "y", ref, np.array([0.0, 1.0]), 1e-3, 1e-5)
    assert not d.passed and d.max_abs == float("inf")


def test_bool_and_int_outputs() -> None:
    assert compare(0, "m", np.array([True, False]), np.array([True, False]), 0, 0).passed
    d = compare(0, "i", np.array([1, 2], np.int64), np.array([1, 3], np.int32), 0, 0)
    assert not d.passed and d.mismatches == 1 and "dtype" in d.note


def test_same() -> None:
    a = [np.ones(3)]
    assert same(a, [np.ones(3) + 1e-9], 1e-3, 1e-5)
    assert not same(a, [np.ones(3) * 2], 1e-3, 1e-5)
    assert not same(a, [np.ones(4)], 1e-3, 1e-5)
