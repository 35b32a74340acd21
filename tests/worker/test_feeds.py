"""Inputs of an .onnx file run alone: declared types, values and shapes, symbolic dims,
the remembered settings, `cfexplore diff FILE.onnx`, and the app's inputs editor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from cfexplore.engine.filerun import run_file
from cfexplore.errors import CfxError
from cfexplore.settings import RunSettings
from cfexplore.target import inputstore
from cfexplore.target.feeds import FeedPlan, Fill, graph_inputs, make_feeds, plan_from_args, resolve

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def gated_model() -> onnx.ModelProto:
    """y = x * 2 when rate == 16000, else a Reshape to [-1, rate] that fails for most
    rates: like silero-vad's `sr`, a scalar input that must hold a real value."""
    rate16k = helper.make_tensor("k", I64, [], [16000])
    nodes = [
        helper.make_node("Constant", [], ["k16"], value=rate16k),
        helper.make_node("Equal", ["rate", "k16"], ["ok"]),
        helper.make_node(
            "If",
            ["ok"],
            ["y"],
            then_branch=helper.make_graph(
                [helper.make_node("Mul", ["x", "two"], ["t"])],
                "then",
                [],
                [helper.make_tensor_value_info("t", F, None)],
            ),
            else_branch=helper.make_graph(
                [
                    helper.make_node("Unsqueeze", ["rate", "zero"], ["r1"]),
                    helper.make_node("Reshape", ["x", "r1"], ["e"]),
                ],
                "else",
                [],
                [helper.make_tensor_value_info("e", F, None)],
            ),
        ),
        helper.make_node("Add", ["y", "bias"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "gated",
        [
            helper.make_tensor_value_info("x", F, ["batch", "N"]),
            helper.make_tensor_value_info("rate", I64, []),
            helper.make_tensor_value_info("bias", F, [1, None]),
        ],
        [helper.make_tensor_value_info("out", F, None)],
        [
            helper.make_tensor("two", F, [], [2.0]),
            helper.make_tensor("zero", I64, [1], [0]),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.fixture()
def gated(tmp_path: Path) -> Path:
    path = tmp_path / "gated.onnx"
    onnx.save(gated_model(), str(path))
    return path


def test_declared_inputs_and_feeds() -> None:
    inputs = graph_inputs(gated_model())
    assert [g.declared() for g in inputs] == [
        "float32[batch,N]",
        "int64 scalar",
        "float32[1,?]",
    ]
    plan = plan_from_args(["rate=16000", "bias=1x4:float32:0..1"], ["N=8", "batch=2"])
    resolved = resolve(inputs, plan)
    assert resolved.defaulted == []
    assert isinstance(resolved.entries[1], Fill)
    feeds = make_feeds(resolved, seed=3)
    assert feeds["x"].shape == (2, 8) and feeds["x"].dtype == np.float32
    assert feeds["rate"].shape == () and int(feeds["rate"]) == 16000
    assert feeds["rate"].dtype == np.int64
    assert (
        feeds["bias"].shape == (1, 4) and (feeds["bias"] >= 0).all() and (feeds["bias"] < 1).all()
    )
    # the same seed, the same feeds
    again = make_feeds(resolve(inputs, plan), seed=3)
    assert all(np.array_equal(feeds[k], again[k]) for k in feeds)
    # nothing set: every free dim named, fed as 1
    bare = resolve(inputs, FeedPlan())
    assert bare.defaulted == ["batch", "N", "bias[1]"]


@pytest.mark.parametrize(
    ("inputs", "dims", "message"),
    [
        (["nope=3"], [], "no input 'nope'"),
        ([], ["M=4"], "no input has a dim named 'M'"),
        (["x=1x2x3"], [], "3 dims given, the file declares 2"),
        ([], ["N=0"], "positive integer"),
        (["x=1x2:complex9"], [], "unknown dtype"),
    ],
)
def test_bad_settings_are_one_clear_error(inputs: list[str], dims: list[str], message: str) -> None:
    with pytest.raises(CfxError, match=message):
        resolve(graph_inputs(gated_model()), plan_from_args(inputs, dims))


def test_run_file_against_plain_onnxruntime(gated: Path) -> None:
    """Our run passes where the right rate is set, fails where it is not, and a plain
    onnxruntime script on the same feeds gives the same outputs."""
    import onnxruntime as ort

    plan = FeedPlan({"N": 8, "batch": 2}, {"rate": "16000", "bias": "1x8"})
    result = run_file(str(gated), plan, RunSettings(seed=5))
    assert result.passed, (result.ort_error, result.reference_error)
    assert [o.name for o in result.outputs] == ["out"]
    assert result.outputs[0].onnx_shape == [2, 8]
    feeds = make_feeds(resolve(graph_inputs(gated_model()), plan), 5)
    plain = ort.InferenceSession(str(gated), providers=["CPUExecutionProvider"])
    want = plain.run(None, feeds)[0]
    np.testing.assert_allclose(want, feeds["x"] * 2 + feeds["bias"], rtol=1e-6)
    assert result.command.endswith(
        "--input rate=16000 --input bias=1x8 --dim N=8 --dim batch=2 --seed 5"
    )

    wrong = run_file(str(gated), FeedPlan({"N": 8, "batch": 2}, {"rate": "3"}), RunSettings(seed=5))
    assert not wrong.passed and wrong.ort_error and wrong.reference_error


def test_remembered_per_file_by_path_and_hash(gated: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    plan = FeedPlan({"N": 4}, {"rate": "16000"})
    stored = inputstore.remember(gated, plan)
    assert stored == tmp_path / "cfg" / "cfexplore" / "inputs.json"
    assert inputstore.recall(gated) == plan
    assert inputstore.recall(str(gated.parent / "." / gated.name)) == plan  # same file
    other = tmp_path / "other.onnx"
    other.write_bytes(gated.read_bytes())
    assert inputstore.recall(other) is None  # keyed by path
    gated.write_bytes(gated.read_bytes() + b"\n")  # the bytes changed: inputs may have too
    assert inputstore.recall(gated) is None
    stored.write_text("{not json")
    assert inputstore.recall(gated) is None  # a broken store is empty, never an error


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfexplore", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "100"},
    )


@pytest.mark.slow  # the CLI in subprocesses
def test_cli_diff_of_a_lone_file(gated: Path) -> None:
    ok = _cli("diff", str(gated), "--input", "rate=16000", "--dim", "N=8", "--json")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["passed"] is True
    assert data["declared"] == {
        "x": "float32[batch,N]",
        "rate": "int64 scalar",
        "bias": "float32[1,?]",
    }
    assert data["free_dims"] == ["batch", "bias[1]"]
    assert data["outputs"][0]["ort_shape"] == data["outputs"][0]["reference_shape"] == [1, 8]

    table = _cli("diff", str(gated))  # a random rate: both backends fail
    assert table.returncode == 1
    assert "free dims fed as 1: batch, N, bias[1]" in table.stdout
    assert "reproduce: cfexplore diff" in table.stdout

    for args, message in [
        (["--dim", "Q=2"], "no input has a dim named 'Q'"),
        (["--exporter", "script"], "--exporter does not apply to an .onnx file"),
        (["--input", "x"], "--input expects NAME=VALUE"),
    ]:
        bad = _cli("diff", str(gated), *args)
        assert bad.returncode == 2, bad.stderr
        assert (
            message in bad.stderr and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
        )


@pytest.mark.real
@pytest.mark.slow
def test_silero_vad_shipped_onnx_runs_with_its_rate() -> None:
    silero = pytest.importorskip("silero_vad")
    path = Path(silero.__file__).parent / "data" / "silero_vad.onnx"
    run = _cli("diff", str(path), "--input", "sr=16000", "--input", "input=1x512", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["passed"] and [o["name"] for o in data["outputs"]] == ["output", "stateN"]
    assert data["declared"]["sr"] == "int64 scalar"
    without = _cli("diff", str(path))  # sr random, 1 sample: the file's own If refuses it
    assert without.returncode == 1


# --------------------------------------------------------------------------- the app


@pytest.mark.slow  # an end-to-end app flow
async def test_inputs_editor_runs_and_remembers_a_lone_file(gated: Path) -> None:
    from textual.widgets import DataTable, Input

    from cfexplore.tui.app import CfxApp
    from tests.tui_helpers import settle, text_of

    def status(app: CfxApp) -> str:
        return text_of(app, "#diff-status")

    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.open_path(f"{gated} --dim N=8")  # the Open box takes --input/--dim too
        await pilot.press("4")
        await settle(pilot, lambda: status(app).startswith("FAIL"))
        assert "free dims fed as 1: batch, bias[1]" in status(app)
        await pilot.press("e")
        await settle(pilot, lambda: type(app.screen).__name__ == "InputsScreen")
        names = [str(lbl.render()) for lbl in app.screen.query(".input-name")]
        assert names == ["x", "rate", "bias", "batch", "N"]
        assert app.screen.query_one("#dim-1", Input).value == "8"  # N, from --dim
        await pilot.press("down", *"1x3x4")  # rate: a wrong rank for a scalar
        await pilot.press("enter")
        await settle(pilot)
        assert "0 dims" in text_of(app, "#inputs-error") or "dims given" in text_of(
            app, "#inputs-error"
        )
        box = app.screen.query_one("#input-1", Input)
        box.value = "16000"
        await pilot.press("enter")
        await settle(pilot, lambda: status(app).startswith("PASS"))
        assert type(app.screen).__name__ == "DiffScreen"
        table = app.screen.query_one("#diff-table", DataTable)
        assert "pass" in str(table.get_row_at(0)[1])
        assert app.screen._cfx_command.endswith("--input rate=16000 --dim N=8")
    assert inputstore.recall(gated) == FeedPlan({"N": 8}, {"rate": "16000"})

    again = CfxApp()  # a new run of the app: the file runs as it was last set
    async with again.run_test(size=(80, 24)) as pilot:
        assert again.open_path(str(gated))
        await pilot.press("4")
        await settle(pilot, lambda: status(again).startswith(("PASS", "FAIL")))
        assert status(again).startswith("PASS"), status(again)
