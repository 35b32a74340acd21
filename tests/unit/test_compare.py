"""Control-flow-aware compare: real script/trace exports, plus onnx.helper edge cases."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import onnx
import pytest
from onnx import NodeProto, TensorProto, helper
from rich.console import Console

from cfexplore.analysis.compare import CompareReport, build_skeleton, compare_models
from cfexplore.cli.compare_cmd import cmd_compare
from cfexplore.graph.tree import OnnxTree
from cfexplore.render.compare_text import render_compare
from tests.builders import tv

F = TensorProto.FLOAT
OPSET = [helper.make_opsetid("", 18)]


# --------------------------------------------------------------------------- real exports


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """If and Loop models exported by torch.jit.script (kept) and torch.jit.trace (not)."""
    torch = pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("exports")

    class Branchy(torch.nn.Module):
        def forward(self, flag: bool, x: torch.Tensor) -> torch.Tensor:
            if flag:  # noqa: SIM108 (a real if statement is the point)
                x = x * 2
            else:
                x = x * 3
            return x + 1

    class BranchyTrue(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Branchy()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(True, x)

    class Loopy(torch.nn.Module):
        def forward(self, n: int, x: torch.Tensor) -> torch.Tensor:
            for _ in range(n):
                x = x + 1
            return x

    class LoopyThree(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Loopy()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(3, x)

    x = torch.randn(2, 3)
    paths = {k: out / f"{k}.onnx" for k in ("if_script", "if_trace", "loop_script", "loop_trace")}
    with warnings.catch_warnings():  # torchscript exporter chatter
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            torch.jit.script(Branchy()),
            (True, x),
            paths["if_script"],
            dynamo=False,
            input_names=["flag", "x"],
        )
        torch.onnx.export(
            torch.jit.trace(BranchyTrue(), (x,)), (x,), paths["if_trace"], dynamo=False
        )
        torch.onnx.export(
            torch.jit.script(Loopy()),
            (3, x),
            paths["loop_script"],
            dynamo=False,
            input_names=["n", "x"],
        )
        torch.onnx.export(
            torch.jit.trace(LoopyThree(), (x,)), (x,), paths["loop_trace"], dynamo=False
        )
    return paths


def compare_files(a: Path, b: Path) -> CompareReport:
    return compare_models(OnnxTree.open(a), OnnxTree.open(b))


def test_scripted_if_vs_traced_is_folded_then_branch(exports: dict[str, Path]) -> None:
    report = compare_files(exports["if_script"], exports["if_trace"])
    (row,) = report.rows
    assert row.kind == "folded"
    assert row.op == "If" and row.b_path is None and row.a_path == (1,)
    # both branches are Constant+Mul: only the constant (2 vs 3) tells them apart
    assert row.details["kept"] == "then_branch"
    assert row.details["how"] == "constants"
    assert row.message.startswith("B kept then_branch (Mul")
    assert report.counts_a.control_flow["If"] == 1 and report.counts_b.control_flow["If"] == 0
    assert report.op_diff.only_a == {"Cast": 1, "If": 1}
    assert report.op_diff.only_b == {"Constant": 1, "Mul": 1}


def test_reverse_direction_is_only_in_b_with_the_fold_explained(exports: dict[str, Path]) -> None:
    report = compare_files(exports["if_trace"], exports["if_script"])
    (row,) = report.rows
    assert row.kind == "only-in-b" and row.a_path is None
    assert row.details["kept"] == "then_branch"
    assert row.message.startswith("A has no If here; A kept then_branch")


def test_scripted_loop_vs_traced_is_unrolled_three_times(exports: dict[str, Path]) -> None:
    report = compare_files(exports["loop_script"], exports["loop_trace"])
    (row,) = report.rows
    assert row.kind == "unrolled" and row.op == "Loop"
    assert row.details["k"] == 3 and row.details["exact"] is True
    assert "3×" in row.message and "Add" in row.message
    assert report.op_diff.only_b["Add"] == 3


@pytest.mark.parametrize("name", ["if_script", "loop_script", "if_trace"])
def test_model_against_itself_is_all_same(exports: dict[str, Path], name: str) -> None:
    report = compare_files(exports[name], exports[name])
    assert all(r.kind == "same" for r in report.rows)
    assert all(r.a_path == r.b_path and r.message == "" for r in report.rows)
    assert report.op_diff.only_a == {} and report.op_diff.only_b == {}
    assert (
        len(report.rows)
        == report.counts_a.control_flow["If"] + (report.counts_a.control_flow["Loop"])
    )


def test_cmd_compare_json_and_rich(
    exports: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cmd_compare(str(exports["if_script"]), str(exports["if_trace"]), True) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert err == ""
    assert set(doc) == {"a", "b", "op_diff", "summary", "rows"}
    assert doc["summary"] == {
        "same": 0,
        "folded": 1,
        "unrolled": 0,
        "only-in-a": 0,
        "only-in-b": 0,
    }
    (row,) = doc["rows"]
    assert row["kind"] == "folded" and row["b"] is None and row["a"]["path"] == "1"
    assert [b["key"] for b in row["a"]["branches"]] == ["then_branch", "else_branch"]
    assert doc["a"]["control_flow"]["If"] == 1 and doc["b"]["nodes"] == 4

    assert cmd_compare(str(exports["loop_script"]), str(exports["loop_trace"]), False) == 0
    out, _ = capsys.readouterr()
    assert "unrolled" in out and "Loop /Loop (body 3 ops)" in out


# --------------------------------------------------------------------------- hand-built


def chain(ops: list[str], src: str, dst: str, tag: str) -> list[NodeProto]:
    """Unary/binary ops applied in sequence `src -> … -> dst` (binary ops read one value twice)."""
    nodes: list[NodeProto] = []
    cur = src
    for k, op in enumerate(ops):
        out = dst if k == len(ops) - 1 else f"{tag}_{k}"
        arity = 2 if op in ("Add", "Mul", "Sub", "Div") else 1
        nodes.append(helper.make_node(op, [cur] * arity, [out], name=f"{tag}/{op}_{k}"))
        cur = out
    if not ops:
        nodes.append(helper.make_node("Identity", [src], [dst], name=f"{tag}/Identity"))
    return nodes


def if_node(name: str, then_ops: list[str], else_ops: list[str], src: str, dst: str) -> NodeProto:
    then = helper.make_graph(chain(then_ops, src, f"{name}_t", f"{name}/t"), "then", [], [])
    then.output.append(tv(f"{name}_t"))
    other = helper.make_graph(chain(else_ops, src, f"{name}_e", f"{name}/e"), "else", [], [])
    other.output.append(tv(f"{name}_e"))
    return helper.make_node("If", ["c"], [dst], name=name, then_branch=then, else_branch=other)


def loop_node(name: str, body_nodes: list[NodeProto], src: str, dst: str, last: str) -> NodeProto:
    """A Loop over `n` iterations carrying `xc`; `body_nodes` turn `xc` into `last`."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"], name=f"{name}/cond"), *body_nodes],
        "body",
        [tv("i", TensorProto.INT64, []), tv("cond", TensorProto.BOOL, []), tv("xc")],
        [tv("cond_out", TensorProto.BOOL, []), tv(last)],
    )
    return helper.make_node("Loop", ["n", "", src], [dst], name=name, body=body)


def model(nodes: list[NodeProto], out: str = "y") -> OnnxTree:
    graph = helper.make_graph(
        nodes,
        "main",
        [tv("c", TensorProto.BOOL, []), tv("n", TensorProto.INT64, []), tv("x", F, [2, 3])],
        [tv(out)],
    )
    return OnnxTree.from_model(helper.make_model(graph, opset_imports=OPSET))


def kinds(report: CompareReport) -> list[tuple[str, str, int]]:
    return [(r.kind, r.op, r.depth) for r in report.rows]


def test_if_only_in_b() -> None:
    a = model(chain(["Relu"], "x", "y", "m"))
    b = model([*chain(["Relu"], "x", "r", "m"), if_node("/If", ["Neg"], ["Abs"], "r", "y")])
    report = compare_models(a, b)
    (row,) = report.rows
    assert row.kind == "only-in-b" and row.a_path is None and row.b_path == (1,)
    assert row.details["kept"] is None and row.details["how"] == "none"
    assert report.op_diff.only_b == {"If": 1}


def test_if_only_in_b_where_a_kept_the_else_branch() -> None:
    a = model([*chain(["Relu"], "x", "r", "m"), *chain(["Abs"], "r", "y", "k")])
    b = model([*chain(["Relu"], "x", "r", "m"), if_node("/If", ["Neg"], ["Abs"], "r", "y")])
    (row,) = compare_models(a, b).rows
    assert row.kind == "only-in-b"
    assert row.details["kept"] == "else_branch" and row.details["how"] == "ops"
    assert row.message == "A has no If here; A kept else_branch (Abs)"


def test_ambiguous_fold_is_said_so() -> None:
    a = model([if_node("/If", ["Mul"], ["Mul"], "x", "y")])
    b = model(chain(["Mul"], "x", "y", "m"))
    (row,) = compare_models(a, b).rows
    assert row.kind == "folded" and row.details["kept"] is None
    assert row.details["how"] == "ambiguous"
    assert row.message == "B kept one branch (then or else: ambiguous)"


def test_fold_to_an_identity_else_branch() -> None:
    a = model([if_node("/If", ["Mul", "Relu"], [], "x", "y")])
    b = model(chain([], "x", "y", "m"))
    (row,) = compare_models(a, b).rows
    assert row.kind == "folded" and row.details["kept"] == "else_branch"


def loop_with_inner_if(inner: str, then_ops: list[str], else_ops: list[str]) -> OnnxTree:
    body = [*chain(["Add"], "xc", "a", "body"), if_node(inner, then_ops, else_ops, "a", "z")]
    return model([loop_node("/Loop", body, "x", "y", "z")])


def test_nested_if_inside_loop_aligns_level_by_level() -> None:
    a = loop_with_inner_if("/If", ["Mul"], ["Sub"])
    b = loop_with_inner_if("/loop/If_renamed", ["Mul", "Relu"], ["Sub"])
    report = compare_models(a, b)
    assert kinds(report) == [("same", "Loop", 0), ("same", "If", 1)]
    loop_row, if_row = report.rows
    assert if_row.a_path == (0, "body", 2) and if_row.b_path == (0, "body", 2)
    assert if_row.details["branch_diff"] == {"then_branch": {"only_a": {}, "only_b": {"Relu": 1}}}
    assert if_row.message == "then: B +Relu"
    # the Loop's body differs only below the If: that shows in its own counts too
    assert loop_row.details["branch_diff"]["body"]["only_b"] == {"Relu": 1}


def test_nested_if_folded_inside_a_kept_loop() -> None:
    a = loop_with_inner_if("/If", ["Mul"], ["Sub"])
    body = [*chain(["Add"], "xc", "a", "body"), *chain(["Mul"], "a", "z", "kept")]
    b = model([loop_node("/Loop", body, "x", "y", "z")])
    report = compare_models(a, b)
    assert kinds(report) == [("same", "Loop", 0), ("folded", "If", 1)]
    folded = report.rows[1]
    assert folded.a_path == (0, "body", 2) and folded.details["kept"] == "then_branch"


def test_loop_inside_a_folded_if_is_found_one_level_up() -> None:
    loop_body = chain(["Add"], "xc", "z", "body")
    a_then = loop_node("/Loop", loop_body, "x", "lt", "z")
    then = helper.make_graph([a_then], "then", [], [tv("lt")])
    other = helper.make_graph(chain(["Neg"], "x", "le", "e"), "else", [], [tv("le")])
    a = model(
        [helper.make_node("If", ["c"], ["y"], name="/If", then_branch=then, else_branch=other)]
    )
    b = model([loop_node("/m/Loop", chain(["Add"], "xc", "z", "body"), "x", "y", "z")])
    report = compare_models(a, b)
    assert kinds(report) == [("folded", "If", 0), ("same", "Loop", 1)]
    folded, moved = report.rows
    assert folded.details["kept"] == "then_branch"
    assert moved.a_path == (0, "then_branch", 0) and moved.b_path == (0,)
    assert moved.details["moved_from"]["branch"] == "then_branch"
    assert moved.message.startswith("A has it inside If /If then_branch")


def test_alignment_prefers_the_similar_if_over_the_first() -> None:
    a = model(
        [if_node("/If", ["Mul"], ["Sub"], "x", "t"), if_node("/If_1", ["Abs"], ["Neg"], "t", "y")]
    )
    b = model([*chain(["Mul"], "x", "t", "m"), if_node("/If_9", ["Abs"], ["Neg"], "t", "y")])
    report = compare_models(a, b)
    assert [(r.kind, r.a_path, r.b_path) for r in report.rows] == [
        ("folded", (0,), None),
        ("same", (1,), (1,)),
    ]
    assert report.rows[0].details["kept"] == "then_branch"


def test_unrolled_loop_finds_its_body_if_once_per_iteration() -> None:
    body = [*chain(["Add"], "xc", "a", "body"), if_node("/If", ["Mul"], ["Neg"], "a", "z")]
    a = model([loop_node("/Loop", body, "x", "y", "z")])
    b = model(
        [
            *chain(["Add"], "x", "a0", "it0"),
            if_node("/If_0", ["Mul"], ["Neg"], "a0", "z0"),
            *chain(["Add"], "z0", "a1", "it1"),
            if_node("/If_1", ["Mul"], ["Neg"], "a1", "y"),
        ]
    )
    report = compare_models(a, b)
    assert kinds(report) == [("unrolled", "Loop", 0), ("same", "If", 1), ("same", "If", 1)]
    assert report.rows[0].details["k"] == 2
    assert [r.details["moved_from"]["iteration"] for r in report.rows[1:]] == [1, 2]
    assert [r.b_path for r in report.rows[1:]] == [(1,), (3,)]


def test_wide_repetitive_level_aligns_every_if() -> None:
    """Every 7th of 60 look-alike Ifs (period 3) is folded in B: exactly those are found."""

    def wide(drop: set[int]) -> OnnxTree:
        nodes: list[NodeProto] = []
        cur = "x"
        for i in range(60):
            nxt = "y" if i == 59 else f"v{i}"
            if i in drop:
                nodes += chain(["Mul"] * (1 + i % 3), cur, nxt, f"d{i}")
            else:
                nodes.append(if_node(f"/If_{i}", ["Mul"] * (1 + i % 3), ["Neg"], cur, nxt))
            cur = nxt
        return model(nodes)

    dropped = set(range(0, 60, 7))
    report = compare_models(wide(set()), wide(dropped))
    folded = [r.a_path[0] for r in report.rows if r.kind == "folded" and r.a_path]
    assert folded == sorted(dropped)
    assert report.summary["same"] == 60 - len(dropped) and report.summary["only-in-b"] == 0


def test_loop_without_copies_is_only_in_a() -> None:
    a = model([loop_node("/Loop", chain(["Add"], "xc", "z", "body"), "x", "y", "z")])
    b = model(chain(["Neg"], "x", "y", "m"))
    (row,) = compare_models(a, b).rows
    assert row.kind == "only-in-a" and row.details["k"] is None


def test_no_control_flow_renders_a_note() -> None:
    a = model(chain(["Relu"], "x", "y", "m"))
    report = compare_models(a, a)
    assert report.rows == [] and build_skeleton(a).control_flow == []
    console = Console(width=100, record=True)
    console.print(render_compare(report))
    assert "no control flow in either model" in console.export_text()


def test_render_escapes_model_names() -> None:
    a = model([if_node("[/model/If]", ["Mul"], ["Neg"], "x", "y")])
    b = model(chain(["Neg"], "x", "y", "m"))
    console = Console(width=120, record=True)
    console.print(render_compare(compare_models(a, b)))
    text = console.export_text()
    assert "If [/model/If] (then 1 op, else 1 op)" in text
    assert "B kept else_branch (Neg)" in text


# --------------------------------------------------------------------------- cli


def test_non_onnx_file_is_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.onnx"
    bad.write_text("this is not a protobuf\n" * 10)
    good = tmp_path / "good.onnx"
    onnx.save(model(chain(["Relu"], "x", "y", "m")).model, good)
    assert cmd_compare(str(good), str(bad), False) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("cfexplore: ") and err.count("\n") == 1
    assert cmd_compare(str(tmp_path / "missing.onnx"), str(good), True) == 2
    _, err = capsys.readouterr()
    assert err == f"cfexplore: {tmp_path / 'missing.onnx'}: no such file\n"
