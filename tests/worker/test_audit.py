"""Tests for the structural audit (`cfexplore.analysis.audit`): hand-built graphs, real exports."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from rich.console import Console

from cfexplore.analysis.audit import (
    AuditFlag,
    AuditReport,
    audit_model,
    count_control_flow,
    find_runs,
    optimize_counts,
)
from cfexplore.cli.audit_cmd import cmd_audit
from cfexplore.graph.describe import path_to_str
from cfexplore.graph.items import NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import FUNCTION_STEP
from cfexplore.render.audit_text import render_audit

OPSET = [helper.make_opsetid("", 18)]
F = TensorProto.FLOAT
B = TensorProto.BOOL
I64 = TensorProto.INT64


# --------------------------------------------------------------------------- helpers


def tv(name: str, elem: int = F, shape: list | None = None) -> onnx.ValueInfoProto:
    """A typed value; float values default to the `[2, 3]` shape of `x`."""
    if shape is None and elem == F:
        shape = [2, 3]
    return helper.make_tensor_value_info(name, elem, shape)


def const(out: str, value: object, elem: int, name: str = "") -> onnx.NodeProto:
    """A `Constant` node holding a scalar."""
    return helper.make_node(
        "Constant", [], [out], name=name or out, value=helper.make_tensor(out, elem, [], [value])
    )


def branches() -> dict[str, onnx.GraphProto]:
    """then: `x * 2`, else: `-x`, both reading the outer-scope `x`."""
    then = helper.make_graph(
        [const("two", 2.0, F, "then_two"), helper.make_node("Mul", ["x", "two"], ["t_out"])],
        "then",
        [],
        [tv("t_out")],
    )
    other = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e_out"])], "else", [], [tv("e_out")]
    )
    return {"then_branch": then, "else_branch": other}


def model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializer: list[onnx.TensorProto] | None = None,
    functions: list[onnx.FunctionProto] | None = None,
    opsets: list | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "main", inputs, outputs, initializer=initializer or [])
    m = helper.make_model(graph, opset_imports=opsets or OPSET, functions=functions or [])
    onnx.checker.check_model(m)
    return m


def if_model(cond_nodes: list[onnx.NodeProto], **kw: object) -> onnx.ModelProto:
    """`cond_nodes` compute `c`; then `If(c)` over the outer-scope `x`."""
    node = helper.make_node("If", ["c"], ["y"], name="the_if", **branches())
    inputs = [tv("x", F, [2, 3]), *kw.pop("extra_inputs", [])]  # type: ignore[misc]
    return model([*cond_nodes, node], inputs, [tv("y")], **kw)  # type: ignore[arg-type]


def audit(m: onnx.ModelProto) -> tuple[AuditReport, OnnxTree]:
    tree = OnnxTree.from_model(m)
    return audit_model(m, tree), tree


def kinds(report: AuditReport) -> list[str]:
    return [f.kind for f in report.flags]


def only(report: AuditReport, kind: str) -> AuditFlag:
    found = [f for f in report.flags if f.kind == kind]
    assert len(found) == 1, report.flags
    return found[0]


def assert_path_is(tree: OnnxTree, flag: AuditFlag, node_name: str) -> None:
    """The flag's path re-finds the node in the tree, and path_str agrees."""
    item = tree.node_by_path(flag.path)
    assert isinstance(item, NodeItem)
    assert item.name == node_name == flag.node_name
    assert item.op_type == flag.op_type
    assert flag.path_str == path_to_str(flag.path)


def text_of(renderable: object, width: int = 160) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return console.export_text()


def loop_body(cond_out: str = "identity", carried_add: float = 1.0) -> onnx.GraphProto:
    """Body `(i, cond_in, x) -> (cond_out, x + 1)`; the condition is passed through."""
    nodes = [
        const("one", carried_add, F, "body_one"),
        helper.make_node("Add", ["x_in", "one"], ["x_out"], name="body_add"),
    ]
    out = "cond_in"
    if cond_out == "identity":
        nodes.append(helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_id"))
        out = "cond_out"
    elif cond_out == "computed":  # cond_out = i < 2: depends on the iteration
        nodes += [
            const("two_i", 2, I64, "body_two"),
            helper.make_node("Less", ["i", "two_i"], ["cond_out"], name="body_less"),
        ]
        out = "cond_out"
    return helper.make_graph(
        nodes,
        "body",
        [tv("i", I64, []), tv("cond_in", B, []), tv("x_in", F, [2, 3])],
        [tv(out, B, []), tv("x_out", F, [2, 3])],
    )


def loop_model(m_from_input: bool = False, cond_out: str = "identity") -> onnx.ModelProto:
    nodes = [] if m_from_input else [const("M", 3, I64, "trip")]
    nodes += [
        const("T", True, B, "start"),
        helper.make_node("Loop", ["M", "T", "x"], ["y"], name="the_loop", body=loop_body(cond_out)),
    ]
    inputs = [tv("x", F, [2, 3])] + ([tv("M", I64, [])] if m_from_input else [])
    return model(nodes, inputs, [tv("y", F, [2, 3])])


# --------------------------------------------------------------------------- constant If


def test_if_cond_from_constant_is_flagged_with_its_branch() -> None:
    report, tree = audit(if_model([const("c", True, B, "/Constant")]))
    flag = only(report, "constant-if")
    assert flag.path == (1,)
    assert_path_is(tree, flag, "the_if")
    assert flag.details["value"] is True
    assert flag.details["branch"] == "then_branch"
    assert flag.details["source"] == "constant"
    assert flag.message == (
        "If 'the_if' always takes then_branch: its condition is the constant True "
        "(from Constant '/Constant')"
    )


def test_if_cond_from_initializer_is_flagged() -> None:
    init = helper.make_tensor("c", B, [], [False])
    report, tree = audit(if_model([], initializer=[init]))
    flag = only(report, "constant-if")
    assert_path_is(tree, flag, "the_if")
    assert flag.details["branch"] == "else_branch"
    assert flag.details["source"] == "initializer"
    assert "from initializer 'c'" in flag.message


def test_if_cond_folded_from_a_chain() -> None:
    chain = [
        const("k", 1, I64, "k"),
        helper.make_node("Cast", ["k"], ["kb"], name="cast", to=B),
        helper.make_node("Not", ["kb"], ["nk"], name="not"),
        helper.make_node("Identity", ["nk"], ["c"], name="ident"),
    ]
    report, tree = audit(if_model(chain))
    flag = only(report, "constant-if")
    assert flag.path == (4,)
    assert_path_is(tree, flag, "the_if")
    assert flag.details["value"] is False
    assert flag.details["source"] == "folded"
    assert [c["op_type"] for c in flag.details["chain"]] == ["Constant", "Cast", "Not", "Identity"]
    assert "folded from Identity(Not(Cast(Constant 'k')))" in flag.message


def test_if_cond_from_equal_of_two_constants_and_static_shape() -> None:
    chain = [
        helper.make_node("Shape", ["x"], ["shp"], name="shape"),
        const("idx", 0, I64, "idx"),
        helper.make_node("Gather", ["shp", "idx"], ["d0"], name="gather"),
        const("n2", 2, I64, "n2"),
        helper.make_node("Equal", ["d0", "n2"], ["c"], name="eq"),
    ]
    report, _ = audit(if_model(chain))
    flag = only(report, "constant-if")
    assert flag.details["value"] is True
    assert "Shape" in [c["op_type"] for c in flag.details["chain"]]


@pytest.mark.parametrize("with_default", [False, True])
def test_if_cond_from_graph_input_is_not_flagged(with_default: bool) -> None:
    # an input with an initializer is only a default: the caller can override it
    init = [helper.make_tensor("c", B, [], [True])] if with_default else []
    m = if_model([], extra_inputs=[tv("c", B, [])], initializer=init)
    report, _ = audit(m)
    assert report.flags == []
    assert report.counts["If"] == 1


def test_if_cond_depending_on_data_is_not_flagged() -> None:
    chain = [
        helper.make_node("ReduceSum", ["x"], ["s"], name="sum", keepdims=0),
        const("zero", 0.0, F, "zero"),
        helper.make_node("Greater", ["s", "zero"], ["c"], name="gt"),
    ]
    report, _ = audit(if_model(chain))
    assert report.flags == []


# --------------------------------------------------------------------------- constant Loop


@pytest.mark.parametrize("cond_out", ["identity", "same-name"])
def test_constant_trip_loop_is_flagged(cond_out: str) -> None:
    report, tree = audit(loop_model(cond_out=cond_out))
    flag = only(report, "constant-loop")
    assert flag.path == (2,)
    assert_path_is(tree, flag, "the_loop")
    assert flag.details["trip_count"] == 3
    assert flag.details["iterations"] == 3
    assert flag.details["initial_cond"] is True
    assert flag.details["body_cond"] == "pass-through"
    assert flag.message.startswith("Loop 'the_loop' always runs exactly 3 times")
    assert "(from Constant 'trip')" in flag.message


def test_loop_with_initial_false_never_runs() -> None:
    m = loop_model()
    m.graph.node[1].CopyFrom(const("T", False, B, "start"))
    flag = only(audit(m)[0], "constant-loop")
    assert flag.details["iterations"] == 0
    assert "never runs" in flag.message


def test_loop_with_trip_count_from_input_is_not_flagged() -> None:
    report, _ = audit(loop_model(m_from_input=True))
    assert "constant-loop" not in kinds(report)
    assert report.counts["Loop"] == 1


def test_loop_with_computed_body_cond_is_not_flagged() -> None:
    report, _ = audit(loop_model(cond_out="computed"))
    assert "constant-loop" not in kinds(report)


def test_loop_body_cond_constant_true_from_outer_scope() -> None:
    """What `torch.jit.script` emits: the body returns `Identity` of the outer `true`."""
    body = loop_body("identity")
    body.node[2].input[0] = "T"
    m = model(
        [
            const("M", 4, I64, "trip"),
            const("T", True, B, "start"),
            helper.make_node("Loop", ["M", "T", "x"], ["y"], name="the_loop", body=body),
        ],
        [tv("x", F, [2, 3])],
        [tv("y", F, [2, 3])],
    )
    flag = only(audit(m)[0], "constant-loop")
    assert flag.details["body_cond"] == "constant true"
    assert flag.details["iterations"] == 4


# --------------------------------------------------------------------------- unrolled runs


def chain_model(ops: list[str], repeats: int, **attrs: object) -> onnx.ModelProto:
    """`x` through `ops` repeated `repeats` times, each op reading the previous output."""
    nodes = [const("k", 1.0, F, "k")]
    cur = "x"
    for r in range(repeats):
        for j, op in enumerate(ops):
            out = f"v{r}_{j}"
            ins = [cur] if op in ("Relu", "Neg", "LeakyRelu") else [cur, "k"]
            nodes.append(helper.make_node(op, ins, [out], name=f"{op}_{r}_{j}", **attrs))
            cur = out
    nodes.append(helper.make_node("Identity", [cur], ["y"], name="out"))
    return model(nodes, [tv("x", F, [2, 3])], [tv("y", F, [2, 3])])


def test_unrolled_mul_add_block_is_flagged() -> None:
    report, tree = audit(chain_model(["Mul", "Add"], 4))
    flag = only(report, "unrolled-loop")
    d = flag.details
    assert (d["ops"], d["period"], d["repeats"]) == (["Mul", "Add"], 2, 4)
    assert (d["first_index"], d["last_index"]) == (1, 8)
    assert flag.path == (1,)
    assert_path_is(tree, flag, "Mul_0_0")
    assert flag.message.startswith("[Mul, Add] repeats 4 times back to back (nodes 1-8)")


def test_unrolled_single_op_is_flagged() -> None:
    flag = only(audit(chain_model(["Add"], 3))[0], "unrolled-loop")
    assert (flag.details["ops"], flag.details["repeats"]) == (["Add"], 3)
    assert flag.message.startswith("Add repeats 3 times")


def test_two_repeats_are_not_flagged() -> None:
    assert audit(chain_model(["Add"], 2))[0].flags == []
    assert audit(chain_model(["Mul", "Add"], 2))[0].flags == []


def test_different_attributes_or_shapes_break_a_run() -> None:
    nodes = [
        helper.make_node("LeakyRelu", ["x"], ["a"], alpha=0.1),
        helper.make_node("LeakyRelu", ["a"], ["b"], alpha=0.2),
        helper.make_node("LeakyRelu", ["b"], ["y"], alpha=0.3),
    ]
    assert audit(model(nodes, [tv("x", F, [2, 3])], [tv("y")]))[0].flags == []
    # same op, same attributes, but each output has another shape: not one loop
    shapes = [[2, 4], [2, 5], [2, 6]]
    inits = [
        onnx.numpy_helper.from_array(
            np.ones((3 if i == 0 else shapes[i - 1][1], s[1]), "f"), f"w{i}"
        )
        for i, s in enumerate(shapes)
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w0"], ["m0"]),
        helper.make_node("MatMul", ["m0", "w1"], ["m1"]),
        helper.make_node("MatMul", ["m1", "w2"], ["y"]),
    ]
    out = [tv("y", F, [2, 6])]
    assert audit(model(nodes, [tv("x", F, [2, 3])], out, initializer=inits))[0].flags == []


def test_input_types_break_a_run() -> None:
    """Same op and output type, but each step adds a differently shaped (broadcast) weight."""
    shapes = [[3], [2, 3], [1, 3]]

    def add_chain(shapes: list[list[int]]) -> onnx.ModelProto:
        inits = [
            onnx.numpy_helper.from_array(np.ones(s, "f"), f"w{i}") for i, s in enumerate(shapes)
        ]
        nodes = [
            helper.make_node("Add", ["x", "w0"], ["a0"]),
            helper.make_node("Add", ["a0", "w1"], ["a1"]),
            helper.make_node("Add", ["a1", "w2"], ["y"]),
        ]
        return model(nodes, [tv("x")], [tv("y")], initializer=inits)

    assert audit(add_chain(shapes))[0].flags == []
    assert kinds(audit(add_chain([[2, 3]] * 3))[0]) == ["unrolled-loop"]


def test_parallel_repeats_are_not_a_loop() -> None:
    """Shape arithmetic: three independent Gather/Unsqueeze pairs feeding one Concat."""
    nodes = [helper.make_node("Shape", ["x"], ["shp"])]
    for i in range(3):
        nodes += [
            const(f"i{i}", i, I64, f"i{i}"),
            helper.make_node("Gather", ["shp", f"i{i}"], [f"g{i}"], name=f"gather{i}"),
            helper.make_node("Unsqueeze", [f"g{i}", "ax"], [f"u{i}"], name=f"unsq{i}"),
        ]
    nodes.insert(0, helper.make_node("Constant", [], ["ax"], value_ints=[0]))
    nodes.append(helper.make_node("Concat", ["u0", "u1", "u2"], ["y"], axis=0))
    report, _ = audit(model(nodes, [tv("x", F, [2, 3, 4])], [tv("y", I64, [3])]))
    assert report.flags == []


def test_find_runs_prefers_the_widest_cover() -> None:
    assert find_runs(list("AAAAAA")) == [(0, 1, 6)]
    assert find_runs(list("xABABABy")) == [(1, 2, 3)]
    assert find_runs(list("AABAABAAB")) == [(0, 3, 3)]
    assert find_runs(list("ABAB")) == []
    assert find_runs(list("AAABCCC")) == [(0, 1, 3), (4, 1, 3)]
    assert find_runs(list("ABCDEFGHI" * 3)) == []  # period 9 is longer than the limit
    # a rejected candidate does not hide an accepted one at the same position
    assert find_runs(list("AAAAAA"), accept=lambda s, p, k: p == 2) == [(0, 2, 3)]


# --------------------------------------------------------------------------- nesting


def test_constant_if_inside_a_loop_body_has_the_nested_path() -> None:
    body = loop_body("computed")  # the Loop itself is not constant
    then = helper.make_graph([helper.make_node("Neg", ["x_in"], ["t"])], "t", [], [tv("t")])
    other = helper.make_graph([helper.make_node("Relu", ["x_in"], ["e"])], "e", [], [tv("e")])
    # the If's condition is the main graph's constant `T`, read from the outer scope
    inner_if = helper.make_node(
        "If", ["T"], ["x_if"], name="inner_if", then_branch=then, else_branch=other
    )
    body.node.append(inner_if)
    body.node[1].input[0] = "x_if"  # x_out = x_if + 1
    body.node.insert(1, body.node.pop())  # keep the If before its use
    m = model(
        [
            const("T", True, B, "start"),
            helper.make_node("Loop", ["", "T", "x"], ["y"], name="the_loop", body=body),
        ],
        [tv("x", F, [2, 3])],
        [tv("y", F, [2, 3])],
    )
    report, tree = audit(m)
    flag = only(report, "constant-if")
    assert flag.path == (1, "body", 1)
    assert flag.path_str == "1/body/1"
    assert_path_is(tree, flag, "inner_if")
    assert report.by_path() == {(1, "body", 1): [flag]}
    assert [n.path for n in tree.iter_control_flow() if n.op_type == "If"] == [flag.path]


def test_findings_inside_a_local_function_body() -> None:
    """An If in a function whose condition is the caller's constant argument."""
    fn = helper.make_function(
        "local",
        "pick",
        ["flag", "v"],
        ["out"],
        [
            helper.make_node(
                "If",
                ["flag"],
                ["out"],
                name="fn_if",
                then_branch=helper.make_graph(
                    [helper.make_node("Neg", ["v"], ["a"])], "t", [], [tv("a")]
                ),
                else_branch=helper.make_graph(
                    [helper.make_node("Relu", ["v"], ["b"])], "e", [], [tv("b")]
                ),
            )
        ],
        opset_imports=OPSET,
    )
    m = model(
        [
            const("c", False, B, "cond_const"),
            helper.make_node("pick", ["c", "x"], ["y"], domain="local", name="call"),
        ],
        [tv("x", F, [2, 3])],
        [tv("y")],
        functions=[fn],
        opsets=[*OPSET, helper.make_opsetid("local", 1)],
    )
    report, tree = audit(m)
    flag = only(report, "constant-if")
    assert flag.path == (1, FUNCTION_STEP, 0)
    assert_path_is(tree, flag, "fn_if")
    assert flag.details["branch"] == "else_branch"
    assert "Constant 'cond_const'" in flag.message


# --------------------------------------------------------------------------- report, CLI


def test_report_json_and_render() -> None:
    m = if_model([const("c", True, B, "[/model/Constant]")])
    m.graph.node[1].name = "[/model/If]"  # markup-like names render literally
    report, _ = audit(m)
    doc = json.loads(json.dumps(report.to_json_dict()))
    assert set(doc) == {"flags", "summary", "counts", "optimize"}
    assert doc["flags"][0]["path"] == [1]
    assert doc["summary"] == {"constant-if": 1, "constant-loop": 0, "unrolled-loop": 0}
    assert doc["optimize"] is None
    text = text_of(render_audit(report))
    assert "[/model/If]" in text and "constant-if" in text
    assert "1 finding · constant-if 1 · If 1 · Loop 0 · Scan 0" in text
    empty = AuditReport(flags=[], counts=count_control_flow(m))
    assert text_of(render_audit(empty)).strip() == "no findings · If 1 · Loop 0 · Scan 0"


def test_optimize_counts_on_hand_built_models() -> None:
    before = if_model([const("c", True, B)])
    after = model(
        [helper.make_node("Neg", ["x"], ["y"])], [tv("x", F, [2, 3])], [tv("y", F, [2, 3])]
    )
    oc = optimize_counts(before, after)
    assert oc.before["If"] == 1 and oc.after["If"] == 0
    assert oc.folded == ["If: 1 -> 0"]
    assert optimize_counts(before, before).folded == []
    report = AuditReport(flags=[], counts=oc.before, optimize=oc)
    assert report.to_json_dict()["optimize"]["folded"] == ["If: 1 -> 0"]
    assert "optimize: If: 1 -> 0" in text_of(render_audit(report))


def test_cmd_audit_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cmd_audit(str(tmp_path / "nope.onnx"), as_json=False) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("cfexplore: ") and err.count("\n") == 1
    assert "no such file" in err


def test_cmd_audit_prints_table_or_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(loop_model(), path)
    assert cmd_audit(str(path), as_json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [f["kind"] for f in doc["flags"]] == ["constant-loop"]
    assert cmd_audit(str(path), as_json=False) == 0
    out = capsys.readouterr().out
    assert "constant-loop" in out and "1 finding" in out


# --------------------------------------------------------------------------- real exports


def _export_script_or_trace(module: object, args: tuple, path: Path) -> onnx.ModelProto:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False)
    return onnx.load(str(path))


def test_trace_unrolls_a_python_for(tmp_path: Path) -> None:
    import torch

    class AddThrice(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for _ in range(3):
                x = x + 1
            return x

    x = torch.randn(2, 3)
    traced = torch.jit.trace(AddThrice(), (x,))
    m = _export_script_or_trace(traced, (x,), tmp_path / "t.onnx")
    report, tree = audit(m)
    flag = only(report, "unrolled-loop")
    assert flag.details["repeats"] == 3
    assert flag.details["ops"] == ["Constant", "Add"]  # trace keeps one Constant per step
    assert isinstance(tree.node_by_path(flag.path), NodeItem)


def test_script_instance_attribute_if_leaves_no_if(tmp_path: Path) -> None:
    import torch

    class Flagged(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.flag = True

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.flag:  # noqa: SIM108 (the statement is the subject)
                x = x * 2
            else:
                x = x * 3
            return x

    m = _export_script_or_trace(
        torch.jit.script(Flagged()), (torch.randn(2, 3),), tmp_path / "s.onnx"
    )
    report, _ = audit(m)
    assert report.counts["If"] == 0  # the scripted attribute was folded before ONNX
    assert report.flags == []


def test_script_forward_arg_if_is_not_flagged(tmp_path: Path) -> None:
    import torch

    class Branchy(torch.nn.Module):
        def forward(self, x: torch.Tensor, flag: bool) -> torch.Tensor:
            if flag:  # noqa: SIM108 (the statement is the subject)
                x = x * 2
            else:
                x = x * 3
            return x

    m = _export_script_or_trace(
        torch.jit.script(Branchy()), (torch.randn(2, 3), True), tmp_path / "s.onnx"
    )
    report, _ = audit(m)
    assert report.counts["If"] == 1
    assert report.flags == []


def _dynamo(module: object, args: tuple) -> object:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.onnx.export(module, args, dynamo=True, optimize=False, verbose=False)


def test_dynamo_constant_cond_is_flagged_then_folded_by_optimize() -> None:
    import torch

    class CondOnBuffer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("flag", torch.tensor(True))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cond(self.flag, lambda t: t * 2, lambda t: t * 3, (x,))

    program = _dynamo(CondOnBuffer(), (torch.randn(2, 3),))
    before = onnx.ModelProto()
    before.CopyFrom(program.model_proto)  # type: ignore[attr-defined]
    report, tree = audit(before)
    flag = only(report, "constant-if")
    assert flag.details["source"] == "initializer"
    assert isinstance(tree.node_by_path(flag.path), NodeItem)
    program.optimize()  # type: ignore[attr-defined]
    after = program.model_proto  # type: ignore[attr-defined]
    oc = optimize_counts(before, after)
    assert oc.folded == ["If: 1 -> 0"]
    assert audit(after)[0].flags == []


def test_dynamo_unrolls_a_python_for_before_and_after_optimize() -> None:
    import torch

    class AddThrice(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for _ in range(3):
                x = x + 1
            return x

    program = _dynamo(AddThrice(), (torch.randn(2, 3),))
    flag = only(audit(program.model_proto)[0], "unrolled-loop")  # type: ignore[attr-defined]
    assert (flag.details["ops"], flag.details["repeats"]) == (["Cast", "Add"], 3)
    program.optimize()  # type: ignore[attr-defined]
    flag = only(audit(program.model_proto)[0], "unrolled-loop")  # type: ignore[attr-defined]
    assert (flag.details["ops"], flag.details["repeats"]) == (["Add"], 3)


@pytest.mark.slow
def test_twenty_thousand_sibling_ifs_lint_and_audit_finish(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Linting copied the enclosing scope into every subgraph and the unrolled-loop search
    rescanned the sequence from every position: 20,000 sibling Ifs hung `audit` and the
    app. Now both are linear and shape inference is skipped past 1,000 subgraphs; the
    time bound only guards against a hang."""

    import onnx

    from benchmarks.genmodel import sibling_ifs

    path = tmp_path / "ifs.onnx"
    onnx.save(sibling_ifs(20_000), str(path))
    run = subprocess.run(
        [sys.executable, "-m", "cfexplore", "audit", str(path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    assert "If 20,000 · Loop 0 · Scan 0" in run.stdout


def test_analysis_in_a_worker_matches_the_one_in_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The Graph screen audits a big file in its file worker and a small one in its own
    thread: both give the same warnings, summary and flags (paths included)."""
    import onnx

    from benchmarks.genmodel import make_model
    from cfexplore.analysis.modelcheck import analyse_tree
    from cfexplore.engine.filejobs import analyse_file
    from cfexplore.graph.tree import OnnxTree
    from cfexplore.worker.client import WorkerClient

    path = tmp_path / "m.onnx"
    onnx.save(make_model(0.02), str(path))
    here = analyse_tree(OnnxTree.open(str(path), lint=False))
    with WorkerClient() as client:
        there = analyse_file(str(path), client)
    assert there.summary == here.summary and there.warnings == here.warnings
    assert [(f.kind, f.path) for f in there.audit.flags] == [
        (f.kind, f.path) for f in here.audit.flags
    ]
    assert here.audit.flags  # the generated model has unrolled runs to find
