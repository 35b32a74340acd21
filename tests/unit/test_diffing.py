"""The PyTorch vs ONNX comparison itself: hand-made arrays, onnx's sequence/optional test
models through ONNX Runtime, seeded inputs and the reproducible ORT mode."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cfexplore.analysis.diffing import MISSING, compare, input_hash, same
from cfexplore.spec import InputSpec
from cfexplore.target.inputs import make_inputs
from cfexplore.worker.ort import reproducible_session_options
from cfexplore.worker.outputs import compare_all
from tests.backend_cases import all_cases

INF, NAN = np.inf, np.nan


def test_identical() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    d = compare(0, "y", a, a.copy(), 1e-3, 1e-5)
    assert d.passed and d.max_abs == 0 and d.mismatches == 0 and d.total == 6
    assert sum(d.histogram) == 6 and d.note == "" and d.elements == []


def test_tolerance_boundary() -> None:
    ref = np.array([1.0, 100.0], dtype=np.float32)
    got = ref + np.array([0.5e-3, 0.2], dtype=np.float32)
    d = compare(0, "y", ref, got, rtol=1e-3, atol=1e-5)
    assert d.mismatches == 1 and not d.passed
    assert abs(d.max_abs - 0.2) < 1e-4
    assert abs(d.max_rel - 0.002) < 1e-5


def test_max_rel_does_not_blow_up_on_zero_reference() -> None:
    d = compare(0, "y", np.zeros(3), np.zeros(3), 0, 0)
    assert d.passed and d.max_rel == 0.0
    d = compare(0, "y", np.array([0.0, 2.0]), np.array([1e-7, 2.0]), 1e-3, 1e-5)
    assert d.passed and np.isfinite(d.max_rel)


# --- shapes -------------------------------------------------------------------------------


def test_shape_differs_is_reported_never_broadcast() -> None:
    d = compare(0, "y", np.zeros((2, 3)), np.zeros((3, 2)), 1e-3, 1e-5)
    assert not d.passed and d.note == "shape differs: [2, 3] vs [3, 2]"
    assert d.torch_shape == [2, 3] and d.onnx_shape == [3, 2] and d.max_abs is None
    d = compare(0, "y", np.ones((1, 3)), np.ones(3), 1e-3, 1e-5)
    assert not d.passed and d.note == "shape differs: [1, 3] vs [3]"
    d = compare(0, "y", np.ones(1), np.ones(()), 1e-3, 1e-5)
    assert not d.passed and "shape differs" in d.note


def test_empty_outputs_are_equal() -> None:
    d = compare(0, "y", np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), 0, 0)
    assert d.passed and d.total == 0 and d.mismatches == 0 and d.max_abs == 0.0
    d = compare(0, "y", np.zeros((0, 3)), np.zeros((3, 0)), 0, 0)
    assert not d.passed and "shape differs" in d.note


def test_missing_side() -> None:
    d = compare(1, "z", np.zeros(2), MISSING, 1e-3, 1e-5)
    assert not d.passed and d.note == "no ONNX output" and d.total == 2
    d = compare(1, "z", MISSING, np.zeros(2), 1e-3, 1e-5)
    assert not d.passed and d.note == "no PyTorch output"
    outs = compare_all(["a", "b"], [np.ones(2)], [np.ones(2), np.ones(3)], 0, 0)
    assert [o.passed for o in outs] == [True, False] and outs[1].note == "no PyTorch output"


# --- NaN and Inf --------------------------------------------------------------------------


def test_nan_vs_number_fails() -> None:
    d = compare(0, "y", np.array([NAN, 1.0]), np.array([0.0, 1.0]), 1e-3, 1e-5)
    assert not d.passed and d.mismatches == 1 and d.max_abs == INF
    assert "NaN vs number at 1 element" in d.note
    d = compare(0, "y", np.array([0.0, 1.0]), np.array([NAN, 1.0]), 1e3, 1e3, equal_nan=True)
    assert not d.passed and d.mismatches == 1


def test_nan_vs_nan_only_with_equal_nan() -> None:
    ref = np.array([NAN, 1.0], np.float32)
    d = compare(0, "y", ref, ref.copy(), 1e-3, 1e-5)
    assert not d.passed and d.mismatches == 1 and "NaN vs NaN at 1 element" in d.note
    d = compare(0, "y", ref, ref.copy(), 1e-3, 1e-5, equal_nan=True)
    assert d.passed and d.max_abs == 0.0 and d.note == ""


def test_infinities() -> None:
    ref = np.array([INF, -INF, 1.0])
    d = compare(0, "y", ref, ref.copy(), 0, 0)
    assert d.passed and d.max_abs == 0.0 and d.max_rel == 0.0  # no inf - inf = nan
    d = compare(0, "y", np.array([INF]), np.array([-INF]), 1e3, 1e3)
    assert not d.passed and d.max_abs == INF and "Inf mismatch" in d.note
    d = compare(0, "y", np.array([INF, 5.0]), np.array([1e308, 5.0]), 1e3, 1e3)
    assert not d.passed and d.mismatches == 1
    d = compare(0, "y", np.array([3.0]), np.array([-INF]), 1e3, 1e3)
    assert not d.passed and d.max_abs == INF
    # the histogram puts non-comparable elements in the top bin
    assert d.histogram[-1] == 1


def test_finite_overflow_is_a_large_diff_not_nan() -> None:
    d = compare(0, "y", np.array([-1.7e308]), np.array([1.7e308]), 1e-3, 1e-5)
    assert not d.passed and d.max_abs == INF


# --- integers, bools, low-precision floats ------------------------------------------------


def test_int_outputs_and_dtype_note() -> None:
    d = compare(0, "i", np.array([1, 2], np.int64), np.array([1, 3], np.int32), 0, 0)
    assert not d.passed and d.mismatches == 1 and d.note == "dtype int64 vs int32"
    assert d.max_abs == 1.0
    d = compare(0, "i", np.array([1, 2], np.int64), np.array([1, 2], np.int32), 0, 0)
    assert d.passed and "dtype" in d.note


def test_int8_extremes_do_not_wrap() -> None:
    lo, hi = np.array([-128], np.int8), np.array([127], np.int8)
    d = compare(0, "i", lo, hi, 0, 0)
    assert not d.passed and d.max_abs == 255.0
    d = compare(0, "i", np.array([0], np.uint8), np.array([255], np.uint8), 0, 0)
    assert d.max_abs == 255.0


def test_int64_extremes_do_not_wrap() -> None:
    info = np.iinfo(np.int64)
    d = compare(0, "i", np.array([info.min]), np.array([info.max]), 0, 0)
    assert not d.passed and d.max_abs == float(2**64 - 1)
    # neighbours above 2**53 still differ (float64 alone would call them equal)
    big = np.array([2**62], np.int64)
    d = compare(0, "i", big, big + 1, 0, 0)
    assert not d.passed and d.mismatches == 1 and d.max_abs == 1.0
    assert compare(0, "i", big, big.copy(), 0, 0).passed


def test_uint64_against_int64() -> None:
    u = np.array([2**64 - 1, 5, 0], np.uint64)
    s = np.array([-1, 5, 0], np.int64)
    d = compare(0, "i", u, s, 0, 0)
    assert d.mismatches == 1 and d.max_abs == float(2**64) and "dtype" in d.note
    d = compare(0, "i", s, u, 0, 0)
    assert d.mismatches == 1 and d.max_abs == float(2**64)
    d = compare(0, "i", np.array([2**63], np.uint64), np.array([2**63 - 1], np.int64), 0, 0)
    assert d.mismatches == 1 and d.max_abs == 1.0
    d = compare(0, "i", np.array([7], np.uint64), np.array([7], np.uint64), 0, 0)
    assert d.passed


def test_int_within_tolerance() -> None:
    d = compare(0, "i", np.array([1000], np.int32), np.array([1001], np.int32), 1e-2, 0)
    assert d.passed and d.max_abs == 1.0


def test_bool_by_xor() -> None:
    a = np.array([True, False, True, False])
    assert compare(0, "m", a, a.copy(), 0, 0).passed
    d = compare(0, "m", a, np.array([True, True, False, False]), 0, 0)
    assert not d.passed and d.mismatches == 2 and d.max_abs == 1.0 and d.total == 4
    # tolerances do not make a flipped bool pass
    d = compare(0, "m", np.array([False]), np.array([True]), 10.0, 10.0)
    assert not d.passed and d.max_abs == 1.0
    # bool against int: compared as numbers
    d = compare(0, "m", np.array([True, False]), np.array([1, 0], np.int64), 0, 0)
    assert d.passed and "dtype bool vs int64" in d.note


def test_float16_upcast() -> None:
    ref = np.array([65504.0, -65504.0, 1.0], np.float16)
    got = np.array([-65504.0, 65504.0, 1.0], np.float16)
    d = compare(0, "h", ref, got, 0, 0)  # in float16 the diff would overflow to inf
    assert not d.passed and d.max_abs == 131008.0 and d.mismatches == 2
    d = compare(0, "h", np.array([1.0], np.float32), np.array([1.0], np.float16), 0, 0)
    assert d.passed and d.note == "dtype float32 vs float16"
    h = np.array([INF, NAN], np.float16)
    assert compare(0, "h", h, h.copy(), 0, 0, equal_nan=True).passed


def test_bfloat16_upcast() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf = ml_dtypes.bfloat16
    ref = np.array([1.0, 3.0e38, -3.0e38], bf)
    d = compare(0, "b", ref, ref.copy(), 0, 0)
    assert d.passed and d.max_abs == 0.0
    got = np.array([1.0078125, -3.0e38, -3.0e38], bf)
    d = compare(0, "b", ref, got, 0, 0)
    assert not d.passed and d.mismatches == 2 and np.isfinite(d.max_abs)
    d = compare(0, "b", np.array([1.0], np.float32), np.array([1.0], bf), 0, 0)
    assert d.passed and d.note == "dtype float32 vs bfloat16"


def test_strings_compared_exactly() -> None:
    a = np.array(["a", "b"], dtype=object)
    d = compare(0, "s", a, a.copy(), 0, 0)
    assert d.passed and "compared exactly" in d.note
    d = compare(0, "s", a, np.array(["a", "c"], dtype=object), 0, 0)
    assert not d.passed and d.mismatches == 1
    d = compare(0, "s", a, np.array([1.0, 2.0]), 0, 0)
    assert not d.passed and "not comparable" in d.note


# --- sequences, optionals, maps -----------------------------------------------------------


def test_sequences_element_wise() -> None:
    seq = [np.ones(1), np.ones(2), np.ones(3)]
    d = compare(0, "s", seq, [x.copy() for x in seq], 0, 0)
    assert d.passed and d.note == "sequence of 3: all equal" and len(d.elements) == 3
    assert d.total == 6 and d.torch_shape == [3] and d.torch_dtype == "seq(float64)"
    d = compare(0, "s", seq, [np.ones(1), np.ones(3), np.ones(3)], 0, 0)
    assert not d.passed and d.note == "element 1: shape differs: [2] vs [3]"
    d = compare(0, "s", seq, [np.ones(1), np.ones(2), np.array([1, 1, 9.0])], 0, 0)
    assert not d.passed and d.mismatches == 1 and d.max_abs == 8.0
    assert d.note == "element 2: 1/3 outside tolerance" and not d.elements[2].passed
    d = compare(0, "s", seq, seq[:2], 0, 0)
    assert not d.passed and d.note == "sequence length differs: 3 vs 2"
    assert compare(0, "s", [], [], 0, 0).passed


def test_sequence_vs_tensor_and_nested() -> None:
    d = compare(0, "s", [np.ones(2)], np.ones(2), 0, 0)
    assert not d.passed and d.note == "not comparable: sequence vs tensor"
    nested = [[np.ones(2)], [np.zeros(1), np.ones(1)]]
    assert compare(0, "s", nested, [[np.ones(2)], [np.zeros(1), np.ones(1)]], 0, 0).passed
    d = compare(0, "s", nested, [[np.ones(2)], [np.zeros(1), np.zeros(1)]], 0, 0)
    assert not d.passed and d.note.startswith("element 1: element 1:")


def test_optionals() -> None:
    d = compare(0, "o", None, None, 0, 0)
    assert d.passed and d.note == "both None"
    d = compare(0, "o", np.ones(2), None, 0, 0)
    assert not d.passed and "no ONNX output (None)" in d.note
    d = compare(0, "o", None, [np.ones(2)], 0, 0)
    assert not d.passed and "no PyTorch output (None)" in d.note
    assert compare(0, "o", [None, np.ones(1)], [None, np.ones(1)], 0, 0).passed


def test_maps() -> None:
    m = {1: np.array(0.5), 2: np.array(0.25)}
    assert compare(0, "m", m, dict(m), 0, 0).note == "map of 2: all equal"
    d = compare(0, "m", m, {1: np.array(0.5), 3: np.array(0.25)}, 0, 0)
    assert not d.passed and "map keys differ" in d.note
    d = compare(0, "m", [m], [{1: np.array(0.5), 2: np.array(0.5)}], 0, 0)
    assert not d.passed and d.note.startswith("element 0: entry 1:")


def test_never_raises_on_odd_values() -> None:
    class Odd:
        def __array__(self, *a: object, **k: object) -> np.ndarray:
            raise RuntimeError("cannot")

    d = compare(0, "x", Odd(), np.ones(1), 0, 0)
    assert not d.passed and d.note.startswith("not comparable")


# --- same() (eager vs eager, for "did PyTorch change?") ----------------------------------


def test_same() -> None:
    a = [np.ones(3)]
    assert same(a, [np.ones(3) + 1e-9], 1e-3, 1e-5)
    assert not same(a, [np.ones(3) * 2], 1e-3, 1e-5)
    assert not same(a, [np.ones(4)], 1e-3, 1e-5)
    assert not same(a, [np.ones((1, 3))], 1e-3, 1e-5)  # no broadcasting
    assert not same(a, [], 1e-3, 1e-5)


def test_same_keeps_nan_equal_to_nan() -> None:
    x = [np.array([NAN, 1.0, INF])]
    assert same(x, [np.array([NAN, 1.0, INF])], 1e-3, 1e-5)
    assert not same(x, [np.array([0.0, 1.0, INF])], 1e-3, 1e-5)
    assert same([[np.ones(2)]], [[np.ones(2)]], 1e-3, 1e-5)


# --- seeded inputs ------------------------------------------------------------------------

SPECS = [
    InputSpec("x", (2, 3, 4, 4), "float32"),
    InputSpec("n", (3,), "int64"),
    InputSpec("flag", (), "bool"),
    InputSpec("h", (5,), "float16"),
]


def test_input_hash_is_stable_across_calls_and_processes() -> None:
    first = input_hash(make_inputs(SPECS, 7))
    assert first == input_hash(make_inputs(SPECS, 7))
    assert first != input_hash(make_inputs(SPECS, 8))
    code = (
        "from cfexplore.analysis.diffing import input_hash\n"
        "from cfexplore.target.inputs import make_inputs\n"
        "from cfexplore.spec import InputSpec\n"
        f"print(input_hash(make_inputs({SPECS!r}, 7)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.strip() == first


def test_input_hash_covers_names_dtypes_shapes_and_bytes() -> None:
    base = {"x": np.arange(6, dtype=np.float32)}
    h = input_hash(base)
    assert h == input_hash({"x": np.arange(6, dtype=np.float32)})
    assert h != input_hash({"y": np.arange(6, dtype=np.float32)})
    assert h != input_hash({"x": np.arange(6, dtype=np.float64)})
    assert h != input_hash({"x": np.arange(6, dtype=np.float32).reshape(2, 3)})
    changed = np.arange(6, dtype=np.float32)
    changed[5] = np.nextafter(changed[5], np.float32(10))
    assert h != input_hash({"x": changed})
    strided = np.repeat(np.arange(6, dtype=np.float32), 2)[::2]  # a non-contiguous view
    assert not strided.flags.c_contiguous and h == input_hash({"x": strided})


# --- onnx's own sequence / optional models through ONNX Runtime ---------------------------


@pytest.fixture(scope="module")
def backend_cases() -> dict[str, object]:
    names = {"test_loop13_seq", "test_if_opt", "test_if_seq"}
    return {name: c for name, c in all_cases().items() if name in names}


def _run_case(case: object) -> list[tuple[list[object], list[object]]]:
    import onnxruntime as ort

    model = case.model  # type: ignore[attr-defined]
    session = ort.InferenceSession(
        model.SerializeToString(),
        reproducible_session_options(),
        providers=["CPUExecutionProvider"],
    )
    names = [i.name for i in model.graph.input]
    runs = []
    for inputs, expected in case.data_sets:  # type: ignore[attr-defined]
        got = session.run(None, dict(zip(names, inputs, strict=False)))
        runs.append((list(expected), list(got)))
    return runs


@pytest.mark.parametrize("name", ["test_loop13_seq", "test_if_opt", "test_if_seq"])
def test_backend_sequence_models_match(name: str, backend_cases: dict[str, object]) -> None:
    case = backend_cases[name]
    for expected, got in _run_case(case):
        outs = compare_all(["out"] * len(expected), expected, got, 1e-3, 1e-7)
        assert outs and all(o.passed for o in outs), [o.note for o in outs]
        assert all(o.elements and o.note.endswith("all equal") for o in outs)


def test_backend_sequence_perturbed_fails_with_element_note(
    backend_cases: dict[str, object],
) -> None:
    (expected, got), *_ = _run_case(backend_cases["test_loop13_seq"])
    seq = [np.array(x, copy=True) for x in got[0]]
    assert len(seq) == 5
    seq[3][2] += 1.0
    d = compare_all(["res"], expected, [seq], 1e-3, 1e-7)[0]
    assert not d.passed and d.mismatches == 1 and d.max_abs == 1.0
    assert d.note == "element 3: 1/4 outside tolerance"
    assert [e.passed for e in d.elements] == [True, True, True, False, True]
    d = compare_all(["res"], expected, [seq[:4]], 1e-3, 1e-7)[0]
    assert not d.passed and d.note == "sequence length differs: 5 vs 4"
    seq = [np.array(x, copy=True) for x in got[0]]
    seq[1] = seq[1][:1]
    d = compare_all(["res"], expected, [seq], 1e-3, 1e-7)[0]
    assert d.note == "element 1: shape differs: [2] vs [1]"


# --- reproducible ORT mode on a real exported model ---------------------------------------


def test_reproducible_session_is_bit_identical(tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    from cfexplore.models.zoo import IfForwardArg

    torch.manual_seed(0)
    module = IfForwardArg().eval()
    x = torch.from_numpy(make_inputs([InputSpec("x", (1, 3, 16, 16), "float32")], 3)["x"])
    path = tmp_path / "if.onnx"
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            torch.jit.script(module),
            (True, x),
            str(path),
            dynamo=False,
            input_names=["branch_testing", "x"],
        )
    opts = reproducible_session_options()
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert opts.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    feeds = {"branch_testing": np.array(True), "x": x.numpy()}
    outs = []
    for _ in range(10):  # a fresh session each time: session setup must not vary either
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["branch_testing", "x"]
        outs.append(session.run(None, feeds)[0])
    assert all(o.tobytes() == outs[0].tobytes() for o in outs)
    assert len({input_hash({"y": o}) for o in outs}) == 1
    other = session.run(None, {**feeds, "branch_testing": np.array(False)})[0]
    assert other.tobytes() != outs[0].tobytes()
    with torch.no_grad():
        eager = module(True, x).numpy()
    assert compare(0, "y", eager, outs[0], 1e-3, 1e-5).passed
