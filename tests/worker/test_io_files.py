"""`--save-inputs/--load-inputs/--save-outputs/--load-outputs`: Polygraphy's JSON format
both ways (Polygraphy's own serde in-process, and `polygraphy run` as a subprocess), `.npz`,
exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cfexplore.cli.main import run
from cfexplore.target import datafiles

pytest.importorskip("polygraphy")
ENV = {**os.environ, "COLUMNS": "80", "POLYGRAPHY_AUTOINSTALL_DEPS": "0"}


def _model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("y", "z")]
    nodes = [helper.make_node("Tanh", ["x"], ["y"]), helper.make_node("Sigmoid", ["x"], ["z"])]
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], outs), opset_imports=[helper.make_opsetid("", 18)]
    )
    model.ir_version = 9
    onnx.save(model, str(path))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cfexplore", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=ENV, timeout=300)


def _polygraphy(*args: str, cwd: Path) -> None:
    exe = Path(sys.executable).with_name("polygraphy")
    res = subprocess.run(
        [str(exe), "run", *args], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=300
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


def test_json_files_read_by_polygraphy_and_back(tmp_path: Path) -> None:
    from polygraphy.comparator import RunResults
    from polygraphy.json import load_json, save_json

    feeds = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(3, np.int64)}
    datafiles.write_feeds(tmp_path / "in.json", feeds)
    theirs = load_json(str(tmp_path / "in.json"))
    assert isinstance(theirs, list) and len(theirs) == 1
    assert all(np.array_equal(theirs[0][k], v) for k, v in feeds.items())
    outs = {"y": np.ones((2, 2), np.float16), "ok": np.array([True, False])}
    datafiles.write_outputs(tmp_path / "out.json", outs)
    results = RunResults.load(str(tmp_path / "out.json"))
    runner, iterations = results[0]
    assert runner == datafiles.RUNNER_NAME
    assert {k: iterations[0][k].dtype for k in outs} == {k: v.dtype for k, v in outs.items()}
    save_json([feeds], str(tmp_path / "pg_in.json"))
    got = datafiles.read_feeds(tmp_path / "pg_in.json")
    assert all(np.array_equal(got[k], v) and got[k].dtype == v.dtype for k, v in feeds.items())
    results.save(str(tmp_path / "pg_out.json"))
    back = datafiles.read_outputs(tmp_path / "pg_out.json")
    assert all(np.array_equal(back[k], v) for k, v in outs.items())
    datafiles.write_outputs(tmp_path / "out.npz", outs)
    assert set(datafiles.read_outputs(tmp_path / "out.npz")) == {"y", "ok"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--atol", "y=abc"], "not a number"),
        (["--rtol", "=1e-3"], "no output name"),
        (["--load-inputs", "missing.json"], "no such file"),
        (["--load-outputs", "m.onnx"], ".json or .npz"),
        (["--check-mode", "polygraphy", "--equal-nan"], "--equal-nan does not apply"),
    ],
)
def test_bad_options_are_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    model = _model(tmp_path / "m.onnx")
    monkeypatch.chdir(tmp_path)
    try:
        code = run(["diff", str(model), *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_bad_file_contents_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _model(tmp_path / "m.onnx")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "wrong.json").write_text(json.dumps([{"q": 1}]))
    for name, message in (("bad.json", "not JSON"), ("wrong.json", "not a Polygraphy-encoded")):
        code = run(["diff", str(model), "--load-inputs", str(tmp_path / name)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_polygraphy_run_reads_ours_and_we_read_theirs(tmp_path: Path) -> None:
    _model(tmp_path / "m.onnx")
    res = _cli("diff", "m.onnx", "--save-inputs", "cfx_in.json", "--save-outputs",
               "cfx_out.json", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    # Polygraphy runs our inputs and compares with our outputs
    _polygraphy("m.onnx", "--onnxrt", "--load-inputs", "cfx_in.json", "--save-outputs",
                "pg_out.json", "--load-outputs", "cfx_out.json", cwd=tmp_path)  # fmt: skip
    res = _cli("diff", "m.onnx", "--load-inputs", "cfx_in.json", "--load-outputs",
               "pg_out.json", "--json", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert [o["name"] for o in data["outputs"]] == ["y", "z"] and data["passed"]
    # a perturbed outputs file fails: exit 1, with statistics
    results = datafiles.read_outputs(tmp_path / "pg_out.json")
    results["z"] = results["z"] + np.float32(0.01)
    datafiles.write_outputs(tmp_path / "bad.json", results)
    res = _cli("diff", "m.onnx", "--load-inputs", "cfx_in.json", "--load-outputs", "bad.json",
               cwd=tmp_path)  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    assert "min atol at rtol 0.001" in res.stdout
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    res = _cli("diff", "m.onnx", "--load-inputs", "cfx_in.json", "--load-outputs", "bad.json",
               "--atol", "z=0.02", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    res = _cli("diff", "m.onnx", "--atol", "nope=0.02", cwd=tmp_path)
    assert res.returncode == 2 and "no output named 'nope'" in res.stderr
    # the other way: Polygraphy's own inputs and outputs
    _polygraphy("m.onnx", "--onnxrt", "--save-inputs", "pg_in.json", "--save-outputs",
                "pg_out2.json", cwd=tmp_path)  # fmt: skip
    res = _cli("diff", "m.onnx", "--load-inputs", "pg_in.json", "--load-outputs",
               "pg_out2.json", "--check-mode", "polygraphy", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    res = _cli("diff", "m.onnx", "--load-inputs", "pg_in.json", "--save-outputs", "o.npz",
               cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0 and set(np.load(tmp_path / "o.npz").files) == {"y", "z"}


@pytest.mark.slow
def test_model_diff_exits_1_on_fail_saves_and_loads_onnx_feeds(tmp_path: Path) -> None:
    base = ("diff", "if-instance-attr", "--exporter", "script")
    res = _cli(*base, "--run", "branch_testing=true", "--save-inputs", "in.json",
               "--save-outputs", "out.npz", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    assert "min atol" in res.stdout  # the statistics of the failing output
    feeds = datafiles.read_feeds(tmp_path / "in.json")
    export = _cli("export", *base[1:], "-o", "m.onnx", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    import onnx

    graph_inputs = [i.name for i in onnx.load(str(tmp_path / "m.onnx")).graph.input]
    assert list(feeds) == graph_inputs  # named as the ONNX graph's inputs
    assert set(np.load(tmp_path / "out.npz").files)
    # the same inputs back: the same verdicts, PyTorch and ORT both fed from the file
    res = _cli(*base, "--load-inputs", "in.json", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "--load-inputs" in json.loads(res.stdout)["command"]
    assert _cli(*base, "--load-inputs", "in.json", "--run", "branch_testing=true",
                cwd=tmp_path).returncode == 1  # fmt: skip
    name = graph_inputs[0]
    datafiles.write_feeds(tmp_path / "bad.json", {name: np.zeros((1, 1), np.float64)})
    res = _cli(*base, "--load-inputs", "bad.json", cwd=tmp_path)
    assert res.returncode == 2 and "the model's is" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = _cli(*base, "--load-outputs", "out.npz", cwd=tmp_path)
    assert res.returncode == 2 and "applies to an .onnx file" in res.stderr
