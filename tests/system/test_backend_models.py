"""onnx's own control-flow test models, run in ONNX Runtime in a worker process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from cfexplore.engine.session import run_onnx_file
from cfexplore.graph.tree import OnnxTree
from cfexplore.worker.client import WorkerClient
from tests.backend_cases import all_cases

NAMES = [
    "test_if",
    "test_loop11",
    "test_scan_sum",
    "test_scan9_sum",
    "test_if_seq",
    "test_loop13_seq",
    "test_sequence_map_identity_1_sequence",
]
CASES = {name: c for name, c in all_cases().items() if name in NAMES}


def _close(expected: object, got: object, rtol: float, atol: float) -> None:
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for e, g in zip(expected, got, strict=True):
            _close(e, g, rtol, atol)
    else:
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with WorkerClient() as c:
        yield c


@pytest.mark.parametrize("name", NAMES)
def test_ort_matches_shipped_outputs(name: str, tmp_path: Path, client: WorkerClient) -> None:
    case = CASES[name]
    path = tmp_path / f"{name}.onnx"
    onnx.save(case.model, str(path))
    tree = OnnxTree.open(path)
    assert sum(tree.total_counts.get(op, 0) for op in ("If", "Loop", "Scan", "SequenceMap")) >= 1
    for inputs, expected in case.data_sets:
        names = [i.name for i in case.model.graph.input]
        feeds = dict(zip(names, inputs, strict=False))
        out_names, outs, _ms = run_onnx_file(str(path), feeds, client=client)
        assert len(outs) == len(expected)
        for e, g in zip(expected, outs, strict=True):
            _close(e, g, case.rtol, case.atol)


def test_seeded_inputs_for_a_bare_model(tmp_path: Path, client: WorkerClient) -> None:
    path = tmp_path / "scan.onnx"
    onnx.save(CASES["test_scan9_sum"].model, str(path))
    a = run_onnx_file(str(path), seed=3, client=client)
    b = run_onnx_file(str(path), seed=3, client=client)
    c = run_onnx_file(str(path), seed=4, client=client)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1][0], b[1][0])
    assert not np.array_equal(a[1][0], c[1][0])
