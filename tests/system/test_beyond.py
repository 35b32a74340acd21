"""Three-way check, branch trace, source mapping, dynamo optimize counts, report, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from cfexplore.analysis.reference import NodeTrace
from cfexplore.engine.session import Session
from cfexplore.graph.sourcemap import node_source
from cfexplore.render.reportdoc import build_report, report_markdown
from cfexplore.results import DiffResult, TensorDiff
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec
from cfexplore.worker.outputs import classify


def open_variant(client, name: str) -> Session:  # type: ignore[no-untyped-def]
    return Session.open(TargetSpec(variant=name), client=client)


def test_three_way_agreement_and_export_problem(shared_client) -> None:  # type: ignore[no-untyped-def]
    s = open_variant(shared_client, "if-instance-attr")
    s.export("script")
    ok = s.diff("script")
    assert ok.reference_used and ok.problem is None
    assert len(ok.reference) == len(ok.ort_vs_reference) == len(ok.outputs) == 1
    assert ok.reference[0].passed and ok.ort_vs_reference[0].passed
    frozen = s.diff("script", RunSettings(values={"branch_testing": True}))
    assert not frozen.passed
    assert frozen.problem == "export"  # PyTorch differs from both ONNX backends
    assert frozen.ort_vs_reference[0].passed
    forced_off = s.diff("script", RunSettings(reference=False))
    assert not forced_off.reference_used and forced_off.problem is None


def _td(passed: bool) -> TensorDiff:
    return TensorDiff(0, "y", [1], "float32", [1], "float32", 0.0, 0.0, 0, 1, passed)


def test_classify_runtime_problem() -> None:
    base = dict(
        target="t", exporter="script", opset=18, seed=0, rtol=1e-3, atol=1e-5, knob_values={}
    )
    ort_wrong = DiffResult(
        **base,
        outputs=[_td(False)],
        passed=False,
        reference_used=True,
        reference=[_td(True)],
        ort_vs_reference=[_td(False)],
    )
    assert classify(ort_wrong) == "runtime"
    both_wrong = DiffResult(
        **base,
        outputs=[_td(False)],
        passed=False,
        reference_used=True,
        reference=[_td(False)],
        ort_vs_reference=[_td(True)],
    )
    assert classify(both_wrong) == "export"


def test_branch_trace_over_a_sweep(shared_client) -> None:  # type: ignore[no-untyped-def]
    s = open_variant(shared_client, "if-in-loop")
    report = s.check(["script"])
    trace = report.results[0].branch_trace
    loop = next(t for t in trace.values() if t.op == "Loop")
    branch = next(t for t in trace.values() if t.op == "If")
    assert sorted(set(loop.trips)) == [0, 1, 2, 3]
    assert loop.summary() == "trip 0..3"
    assert branch.then > 0 and branch.other > 0 and branch.untested is None
    assert "then" in branch.summary() and "/" in branch.summary()
    doc = report.to_json_dict()["results"][0]
    assert any(v["summary"] == "trip 0..3" for v in doc["branch_trace"].values())
    # the path keys are graph.py tree paths: the Loop is node 1 of the main graph
    assert "1" in trace and trace["1"].op == "Loop"


def test_untested_branch() -> None:
    t = NodeTrace("If", "/If", samples=4, then=4, other=0)
    assert t.untested == "else_branch"
    assert "else_branch untested" in t.summary()
    assert NodeTrace("If", "/If", samples=2).untested == "both branches"


def test_source_mapping_script_and_dynamo(shared_client) -> None:  # type: ignore[no-untyped-def]
    s = open_variant(shared_client, "if-forward-arg")
    script = s.export("script")
    model = onnx.load(script.onnx_path)
    node = next(n for n in model.graph.node if n.op_type == "If")
    loc = node_source(node.doc_string, {p.key: p.value for p in node.metadata_props})
    line = next(k.line for k in s.info.knobs if k.name == "branch_testing")
    assert loc is not None and loc.file.endswith("zoo.py") and loc.line == line
    s = open_variant(shared_client, "if-torch-cond")
    dyn = s.export("dynamo")
    model = onnx.load(dyn.onnx_path)
    node = next(n for n in model.graph.node if n.op_type == "If")
    loc = node_source(node.doc_string, {p.key: p.value for p in node.metadata_props})
    assert loc is not None and loc.file.endswith("zoo.py") and not loc.library
    assert "torch.cond" in Path(loc.file).read_text().splitlines()[loc.line - 1]
    assert dyn.unoptimized_control_flow == {"If": 1, "Loop": 0, "Scan": 0}


def test_frozen_verdict_points_at_the_condition(shared_client) -> None:  # type: ignore[no-untyped-def]
    s = open_variant(shared_client, "loop-instance-attr")
    knob = s.check(["script"]).results[0].knobs[0]
    assert knob.verdict == "frozen"
    assert knob.source_line is not None and knob.source_file.endswith("zoo.py")
    assert f"zoo.py:{knob.source_line}" in knob.explanation
    text = Path(knob.source_file).read_text().splitlines()[knob.source_line - 1]
    assert "for _ in range(self.n_loops)" in text
    assert "--run=n_loops=" in knob.command


def test_report_markdown_and_json(shared_client) -> None:  # type: ignore[no-untyped-def]
    s = open_variant(shared_client, "loop-forward-arg")
    rep = build_report(s, ["script", "trace"])
    md = report_markdown(rep)
    for heading in (
        "## Verdicts",
        "## Matrix (seed style)",
        "## Exports",
        "## Audit",
        "## Diff at the export values",
        "## Branch trace",
        "## Versions",
    ):
        assert heading in md
    assert "| Loop · script | preserved |" in md
    assert "| Loop · trace | frozen |" in md
    assert "--run=n_loops=" in md
    doc = rep.to_json_dict()
    assert doc["results"][0]["diff"]["outputs"][0]["max_abs_reference"] is not None
    assert doc["results"][0]["audit"]["flags"] == []
    assert doc["matrix"][0] == {
        "construct": "Loop",
        "exporter": "script",
        "cells": {"forward arg": "preserved"},
    }


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfexplore", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=600,
    )


def test_cli_report_audit_compare(tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    res = cli("report", "if-instance-attr", "--exporter", "script", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert "**frozen**" in out.read_text()
    res = cli("report", "if-instance-attr", "--exporter", "script", "--json")
    assert json.loads(res.stdout)["results"][0]["knobs"][0]["verdict"] == "frozen"
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    assert cli("export", "loop-forward-arg", "--exporter", "script", "-o", str(a)).returncode == 0
    res = cli(
        "export", "loop-forward-arg", "--exporter", "trace", "--set", "n_loops=3", "-o", str(b)
    )
    assert res.returncode == 0, res.stderr
    audit = json.loads(cli("audit", str(b), "--json").stdout)
    assert [f["kind"] for f in audit["flags"]] == ["unrolled-loop"]
    assert audit["flags"][0]["details"]["repeats"] == 3
    cmp_doc = json.loads(cli("compare", str(a), str(b), "--json").stdout)
    assert [r["kind"] for r in cmp_doc["rows"]] == ["unrolled"]
    bad = cli("audit", str(tmp_path / "missing.onnx"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("flag", ["--reference", "--no-reference"])
def test_cli_diff_reference_flag(flag: str) -> None:
    res = cli("diff", "if-forward-arg", "--exporter", "script", flag, "--json")
    doc = json.loads(res.stdout)
    assert doc["reference_used"] is (flag == "--reference")
