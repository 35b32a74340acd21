"""`--timeout` bounds every worker call: a diff or a sweep value that never finishes ends
as a failed row naming the side and the knob value, and the worker is replaced."""

from __future__ import annotations

import os
import subprocess
import sys

from cfexplore.engine.session import Session
from cfexplore.phases import PHASE_ORT, PHASE_TORCH, stalled
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec

HANG = 10**9
"""n_loops for loop-forward-arg that eager PyTorch needs minutes for."""

LIMIT = 20
"""Seconds per call: a (re)load imports torch, 3-15 s on a loaded 2-core machine."""


def test_phase_lines_parse() -> None:
    assert stalled(f"n_loops=5: {PHASE_TORCH}").torch_side
    got = stalled(f"x=1: {PHASE_ORT}")
    assert (got.side, got.at) == (PHASE_ORT, "x=1")
    assert stalled("script: exporting").side == ""
    text = stalled(PHASE_TORCH).message(3)
    assert text.startswith("timed out: PyTorch did not finish within 3 s")


def test_diff_past_the_timeout_fails_naming_the_value_and_the_worker_is_replaced() -> None:
    with Session.open(TargetSpec(variant="loop-forward-arg")) as session:
        assert session.export("script").ok
        pid = session.client.pid
        session.timeout = LIMIT
        hung = session.diff("script", RunSettings(values={"n_loops": HANG}))
        assert not hung.passed and hung.onnx_error is None
        assert hung.torch_error is not None
        assert hung.torch_error.startswith(f"timed out: PyTorch did not finish within {LIMIT} s")
        assert f"n_loops={HANG}" in hung.torch_error
        assert session.export("script").ok  # the target reloaded in a new worker
        assert session.client.pid != pid
        assert session.diff("script", RunSettings(values={"n_loops": 2})).passed


def test_sweep_value_past_the_timeout_is_skipped_and_named() -> None:
    spec = TargetSpec(variant="loop-forward-arg", values={"n_loops": (1, 2, HANG)})
    with Session.open(spec) as session:
        session.timeout = LIMIT
        report = session.check(["script"])
    (verdict,) = report.results[0].knobs
    assert verdict.verdict == "preserved", verdict.explanation
    assert f"did not finish within the time limit at {HANG}" in verdict.explanation
    hung = next(r for r in verdict.rows if r.value == HANG)
    assert (hung.torch_error or "").startswith("timed out: PyTorch")


def test_cli_diff_timeout_exits_1_with_one_clear_row() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "cfexplore", "diff", "loop-forward-arg", "--exporter", "script"]
        + ["--run", f"n_loops={HANG}", "--timeout", str(LIMIT)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.returncode == 1, res.stderr
    assert f"PyTorch did not finish within {LIMIT} s" in res.stdout
    assert f"n_loops={HANG}" in res.stdout and "Traceback" not in res.stderr
