"""`python -m benchmarks --quick` runs end to end and prints every row (no time asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.__main__ import ITEMS
from benchmarks.genmodel import count_nodes, layout, make_model
from tests.conftest import ROOT


def test_generated_model_has_the_fixed_structure() -> None:
    import onnx

    model = make_model(0.1)
    onnx.checker.check_model(model)
    assert count_nodes(model.graph) == layout(0.1).total
    full = layout(1.0)
    assert 95_000 <= full.total <= 105_000 and full.wide >= 5_000


def test_quick_run_prints_every_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for item in ITEMS:
        assert item in proc.stdout, item
    doc = json.loads(out.read_text())
    assert [r["item"] for r in doc["rows"]] == list(ITEMS)
    assert not any(r["error"] for r in doc["rows"])
