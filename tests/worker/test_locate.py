"""`locate`: the first ONNX value that differs from eager PyTorch, on real exports.

The expected answers are facts about the models, not about cfexplore: a frozen If keeps
`x * 3` where eager PyTorch, at the other knob value, computes `x * 2` (relative error
exactly 1/2, at the line of `x * 3`); a frozen loop keeps two `+ 1` where eager runs three
(absolute error exactly 1, after the last kept Add). Independent checks with a plain
`torch.onnx.export` + onnxruntime confirm that the outputs differ where locate says the
graph diverged, and agree where it says it did not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from cfexplore.divergence import Divergence
from cfexplore.engine.session import Session
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec
from cfexplore.target.targets import parse_target
from cfexplore.worker.client import WorkerClient
from tests.conftest import DATA, ROOT

ZOO = ROOT / "models" / "zoo.py"
MODELS = DATA / "user_models"


def line_of(path: Path, text: str, after: int = 0) -> int:
    """1-based number of the first line at or after `after` that holds `text`."""
    lines = path.read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if i + 1 >= after and text in line)


@pytest.fixture(scope="module")
def client() -> Iterator[WorkerClient]:
    worker = WorkerClient()
    yield worker
    worker.close()


def locate(client: WorkerClient, spec: TargetSpec, exporter: str, **run: Any) -> Divergence:
    session = Session.open(spec, client=client)
    try:
        assert session.export(exporter).ok
        return session.locate(exporter, RunSettings(values=run))
    finally:
        session.close()


def test_frozen_instance_attr_points_at_the_mul_the_graph_kept(client: WorkerClient) -> None:
    found = locate(client, TargetSpec(variant="if-instance-attr"), "script", branch_testing=True)
    assert found.diverged and found.first is not None
    first = found.first
    assert (first.op_type, first.node_name, first.path) == ("Mul", "/Mul", "1")
    kept = line_of(ZOO, "x = x * 3", after=line_of(ZOO, "class IfInstanceAttr"))
    assert first.source == f"{ZOO}:{kept}"
    assert first.module == "" and first.module_class == "IfInstanceAttr"
    assert (first.compared_at, first.boundary) == ("body", "input")
    assert first.max_rel == pytest.approx(0.5, rel=1e-6)  # 3x against 2x
    assert found.last_agreeing is not None and found.last_agreeing.value == "x"
    assert found.outputs_differ and found.checked >= 5
    assert "--run=branch_testing=true" in found.command
    assert found.command.startswith("cfexplore locate if-instance-attr --exporter script")


def test_preserved_forward_arg_does_not_diverge(client: WorkerClient) -> None:
    found = locate(client, TargetSpec(variant="if-forward-arg"), "script", branch_testing=True)
    assert not found.diverged and found.first is None and not found.outputs_differ
    assert found.checked >= 5


def _plain_script_outputs(model: torch.nn.Module, args: tuple[Any, ...], path: Path) -> Any:
    """A plain TorchScript export and an onnxruntime session, no cfexplore code."""
    import onnxruntime as ort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            torch.jit.script(model),
            args,
            str(path),
            dynamo=False,
            input_names=["x", *(["n"] if len(args) > 1 else [])],
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"x": args[0].numpy()}
    if len(args) > 1:
        feeds["n"] = np.array(args[1], dtype=np.int64)
    return session, feeds


def test_divergence_inside_a_loop_body(client: WorkerClient, tmp_path: Path) -> None:
    path = MODELS / "locate_nets.py"
    found = locate(client, parse_target(f"{path}:LoopNet"), "script", **{"scale.double": True})
    first = found.first
    assert first is not None
    assert first.path.startswith("1/body/") and first.op_type == "Mul"
    assert first.iteration == [0] and first.module == "scale"
    assert first.source == f"{path}:{line_of(path, 'x = x * 3.0')}"
    assert first.max_rel == pytest.approx(0.5, rel=1e-5)

    # independently: a plain script export keeps the Loop but not the attribute
    sys.path.insert(0, str(MODELS))
    try:
        import locate_nets  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(MODELS))
    torch.manual_seed(0)
    model = locate_nets.LoopNet().eval()
    x = torch.randn(2, 4)
    session, feeds = _plain_script_outputs(model, (x, 2), tmp_path / "plain.onnx")
    import onnx

    assert any(n.op_type == "Loop" for n in onnx.load(str(tmp_path / "plain.onnx")).graph.node)
    (onnx_out,) = session.run(None, feeds)
    with torch.no_grad():
        np.testing.assert_allclose(onnx_out, model(x, 2).numpy(), rtol=1e-4, atol=1e-5)
        model.scale.double = True
        assert not np.allclose(onnx_out, model(x, 2).numpy(), rtol=1e-3, atol=1e-5)


def test_divergence_inside_an_if_branch(client: WorkerClient) -> None:
    path = MODELS / "locate_nets.py"
    found = locate(client, parse_target(f"{path}:IfNet"), "script", **{"scale.double": True})
    first = found.first
    assert first is not None
    index, branch, _ = first.path.split("/")
    assert branch == "then_branch" and first.op_type == "Mul" and first.module == "scale"
    assert first.iteration == [0]
    assert first.source == f"{path}:{line_of(path, 'x = x * 3.0')}"
    assert first.max_rel == pytest.approx(0.5, rel=1e-5)
    # the other branch does not reach the frozen attribute: nothing diverges there
    calm = locate(
        client, parse_target(f"{path}:IfNet"), "script", gate=False, **{"scale.double": True}
    )
    assert not calm.diverged


FROZEN = [
    *[(v, "script") for v in ("if-class-final", "if-instance-attr")],
    *[(v, "script") for v in ("loop-class-final", "loop-instance-attr")],
    *[(v, e) for e in ("trace", "dynamo") for v in ("if-class-attr", "if-forward-arg")],
    *[(v, e) for e in ("trace", "dynamo") for v in ("loop-instance-attr", "loop-forward-arg")],
]


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "exporter"), FROZEN)
def test_every_frozen_seed_variant_points_at_its_construct(
    client: WorkerClient, variant: str, exporter: str
) -> None:
    knob = "branch_testing" if variant.startswith("if") else "n_loops"
    run = {knob: True} if knob == "branch_testing" else {knob: 3}
    found = locate(client, TargetSpec(variant=variant), exporter, **run)
    first = found.first
    assert first is not None, found
    assert (first.compared_at, first.boundary) == ("body", "input")
    if knob == "branch_testing":
        assert first.op_type == "Mul" and first.max_rel == pytest.approx(0.5, rel=1e-6)
        assert first.source.endswith(f"zoo.py:{_kept_line(variant, 'x = x * 3')}")
    else:
        assert first.op_type == "Add" and first.max_abs == pytest.approx(1.0, rel=1e-6)
        assert first.source.endswith(f"zoo.py:{_kept_line(variant, 'x = x + 1')}")


OTHER_FROZEN = [
    ("loop-class-attr", "trace", {"n_loops": 3}, "Add", "x = x + 1"),
    ("loop-class-attr", "dynamo", {"n_loops": 3}, "Add", "x = x + 1"),
    ("early-return", "trace", {"branch_testing": True}, "Mul", "return self.body(x * 3)"),
    ("early-return", "dynamo", {"branch_testing": True}, "Mul", "return self.body(x * 3)"),
    ("if-in-loop", "trace", {"n_loops": 3}, "Add", "x = x + 1"),
    ("if-tensor-data", "trace", {"x_sign": -1}, "Mul", "x = x * 2"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "exporter", "run", "op", "kept"), OTHER_FROZEN)
def test_the_other_frozen_variants_point_at_what_the_graph_kept(
    client: WorkerClient, variant: str, exporter: str, run: dict[str, Any], op: str, kept: str
) -> None:
    found = locate(client, TargetSpec(variant=variant), exporter, **run)
    first = found.first
    assert first is not None, found
    assert (first.op_type, first.compared_at, first.boundary) == (op, "body", "input")
    assert first.source.endswith(f"zoo.py:{_kept_line(variant, kept)}")


def _kept_line(variant: str, text: str) -> int:
    cls = "".join(p.title() for p in variant.split("-"))
    return line_of(ZOO, text, after=line_of(ZOO, f"class {cls}("))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variant", "exporter", "run"),
    [
        ("if-forward-arg", "script", {"branch_testing": True}),
        ("loop-forward-arg", "script", {"n_loops": 3}),
        ("if-in-loop", "script", {"n_loops": 3, "branch_testing": True}),
    ],
)
def test_preserved_variants_do_not_diverge(
    client: WorkerClient, variant: str, exporter: str, run: dict[str, Any]
) -> None:
    found = locate(client, TargetSpec(variant=variant), exporter, **run)
    assert not found.diverged and found.checked >= 5, found


@pytest.mark.slow
def test_cli_json_and_exit_code() -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "cfexplore",
            "locate",
            "if-instance-attr",
            "--exporter",
            "trace",
            "--run",
            "branch_testing=true",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["diverged"] is True and doc["checked"] >= 5
    assert set(doc["first"]) >= {
        "path",
        "node_name",
        "op_type",
        "module",
        "source",
        "max_abs",
        "max_rel",
    }
    assert (doc["first"]["op_type"], doc["first"]["node_name"]) == ("Mul", "/inner/Mul")
    assert doc["first"]["source"].endswith(
        f"zoo.py:{line_of(ZOO, 'x = x * 3', after=line_of(ZOO, 'class IfInstanceAttr'))}"
    )
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "cfexplore",
            "locate",
            "if-instance-attr",
            "--exporter",
            "script",
            "--run",
            "nope=1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


BERT_FILE = """
import torch
from transformers import BertConfig, BertModel


def build():
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=32)
    return BertModel(config, add_pooling_layer=False)


def example_inputs():
    return {"input_ids": torch.randint(0, 100, (1, 8))}
"""


@pytest.mark.slow
@pytest.mark.real
def test_third_party_bert_agrees_at_every_module_boundary(
    client: WorkerClient, tmp_path: Path
) -> None:
    """Hugging Face BERT from a small config (random weights), traced: locate pairs values
    all through the encoder and finds no divergence; a plain export + onnxruntime agrees."""
    pytest.importorskip("transformers")
    import onnxruntime as ort

    (tmp_path / "bert_tiny.py").write_text(BERT_FILE)
    found = locate(client, parse_target(f"{tmp_path / 'bert_tiny.py'}:build"), "trace")
    assert not found.diverged and found.first is None, found
    assert found.checked >= 20  # embeddings, attention, feed-forward: not just the outputs

    sys.path.insert(0, str(tmp_path))
    try:
        import bert_tiny  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    torch.manual_seed(0)
    model = bert_tiny.build().eval()
    ids = torch.randint(0, 100, (1, 8))

    class Ids(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids).last_hidden_state  # type: ignore[no-any-return]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Ids().eval(), (ids,), str(tmp_path / "plain.onnx"), dynamo=False)
    session = ort.InferenceSession(str(tmp_path / "plain.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: ids.numpy()})[0]
    with torch.no_grad():
        want = model(ids).last_hidden_state.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
