"""The headless CLI, run as a user runs it: a real subprocess, real exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import onnx
import pytest

from tests.conftest import DATA


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfexplore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        timeout=600,
    )


def test_help_is_fast_and_lists_commands() -> None:
    start = time.monotonic()
    res = cli("--help")
    assert res.returncode == 0
    assert time.monotonic() - start < 5
    for cmd in ("variants", "export", "tree", "diff", "check", "matrix"):
        assert cmd in res.stdout


def test_variants_json() -> None:
    res = cli("variants", "--json")
    assert res.returncode == 0
    data = json.loads(res.stdout)
    names = {v["name"] for v in data}
    assert {"if-instance-attr", "loop-forward-arg", "if-torch-cond", "no-effect"} <= names
    assert not any(v["heavy"] for v in data)
    full = json.loads(cli("variants", "--json", "--all").stdout)
    seed = next(v for v in full if v["name"] == "seed-if-instance-attr")
    assert seed["inputs"][0]["shape"] == [1, 3, 256, 256]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "no-such-variant"), "unknown variant 'no-such-variant'"),
        (("export", "m.onnx", "--exporter", "script", "-o", "x.onnx"), "not an .onnx file"),
        (("check", "missing.py:Net"), "missing.py: no such file"),
        (("check", str(DATA / "user_model.py")), "name the class too"),
        (("check", str(DATA / "user_model.py:Nope")), "no class 'Nope'"),
        (("check", str(DATA / "raises_on_import.py:Net")), "raised on import"),
        (("check", str(DATA / "exits_on_import.py:Net")), "sys.exit(3)"),
        (("check", str(DATA / "segfaults_on_import.py:Net")), "SIGSEGV"),
        (("check", str(DATA / "not_a_module.py:NotAModule")), "not a torch.nn.Module"),
        (("check", str(DATA / "needs_input.py:Plain")), "--input x=1x3x8x8"),
        (("diff", "if-forward-arg", "--exporter", "script", "--set", "nope=1"), "unknown knob"),
        (
            ("diff", "if-forward-arg", "--exporter", "script", "--set", "branch_testing=3"),
            "takes true or false",
        ),
        (("diff", "if-forward-arg", "--exporter", "bogus"), "invalid choice"),
        (("check", "if-forward-arg", "--rtol", "x"), "not a number"),
        (("tree", "missing.onnx"), "missing.onnx"),
        (
            ("export", "if-forward-arg", "--exporter", "script", "-o", "/no/such/dir/m.onnx"),
            "does not exist",
        ),
        (("check", "if-forward-arg", "--input", "x=1x2"), "user files"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...], message: str) -> None:
    res = cli(*args)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert message in lines[0]
    assert "Traceback" not in res.stderr


def test_tree_of_a_random_bytes_file(tmp_path: Path) -> None:
    bad = tmp_path / "junk.onnx"
    bad.write_bytes(os.urandom(300))
    res = cli("tree", str(bad))
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1


def test_export_then_tree(tmp_path: Path) -> None:
    out = tmp_path / "model.onnx"
    out.write_bytes(b"old contents")
    res = cli("export", "if-forward-arg", "--exporter", "script", "-o", str(out), "--opset", "17")
    assert res.returncode == 0, res.stderr
    assert "If 1" in res.stdout
    model = onnx.load(str(out))
    assert any(n.op_type == "If" for n in model.graph.node)
    assert [p.version for p in model.opset_import if p.domain in ("", "ai.onnx")] == [17]
    assert not [p for p in tmp_path.iterdir() if p.name != "model.onnx"]  # no temp left
    tree = cli("tree", str(out))
    assert tree.returncode == 0
    assert "then_branch" in tree.stdout and "else_branch" in tree.stdout


def test_failed_export_exits_1_with_short_error() -> None:
    res = cli("export", "if-class-attr", "--exporter", "script")
    assert res.returncode == 1
    assert "has no attribute 'branch_testing'" in res.stdout
    assert "--details" in res.stderr
    details = cli("export", "if-class-attr", "--exporter", "script", "--details")
    assert "HERE" in details.stderr


def test_diff_json_records_how_to_reproduce() -> None:
    res = cli(
        "diff",
        "if-forward-arg",
        "--exporter",
        "script",
        "--seed",
        "7",
        "--set",
        "branch_testing=true",
        "--rtol",
        "0.01",
        "--atol",
        "0.001",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["passed"] is True
    assert data["seed"] == 7 and data["rtol"] == 0.01 and data["atol"] == 0.001
    assert data["knob_values"] == {"branch_testing": True}
    assert data["opset"] == 18
    assert set(data["versions"]) >= {"torch", "onnx", "onnxruntime"}
    out = data["outputs"][0]
    assert out["torch_shape"] == out["onnx_shape"] == [1, 16]
    assert out["mismatches"] == 0
    assert data["command"].startswith("cfexplore diff if-forward-arg --exporter script")
    again = cli(*data["command"].split()[1:], "--json")
    assert json.loads(again.stdout)["outputs"][0]["max_abs"] == out["max_abs"]


def test_check_json_schema_and_exit_codes() -> None:
    res = cli("check", "if-instance-attr", "--json")
    assert res.returncode == 1  # frozen
    doc = json.loads(res.stdout)
    assert doc["target"] == "if-instance-attr"
    assert [r["exporter"] for r in doc["results"]] == ["script", "trace", "dynamo"]
    for r in doc["results"]:
        assert r["status"] in ("ok", "failed")
        assert set(r["control_flow"]) == {"If", "Loop", "Scan"}
        for k in r["knobs"]:
            assert k["where"] in ("forward-arg", "instance-attr", "class-attr", "tensor-data")
            assert k["verdict"] in ("preserved", "frozen", "no-effect", "mismatch", "failed")
            assert {"name", "values", "max_abs_diff", "error"} <= set(k) | set(r)
    good = cli("check", "if-forward-arg", "--exporter", "script")
    assert good.returncode == 0
    assert "preserved" in good.stdout


def test_check_user_file() -> None:
    res = cli("check", str(DATA / "user_model.py:UserNet"), "--exporter", "script", "--json")
    doc = json.loads(res.stdout)
    got = {k["name"]: k["verdict"] for k in doc["results"][0]["knobs"]}
    assert got == {"use_relu": "preserved", "repeats": "frozen", "double": "frozen"}
    assert res.returncode == 1


def test_matrix_single_exporter_markdown(tmp_path: Path) -> None:
    md = tmp_path / "m.md"
    res = cli("matrix", "--exporter", "script", "--markdown", str(md))
    assert res.returncode == 0, res.stderr
    assert "failed (plain) / frozen (Final)" in res.stdout
    assert "| If | failed (plain) / frozen (Final) | frozen | preserved |" in md.read_text()
