"""Tests for the lazy ONNX graph tree (`cfexplore.graph.tree`) and its static rendering."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from rich.console import Console
from rich.text import Text

from cfexplore.errors import GraphError
from cfexplore.graph.describe import path_from_str, path_to_str
from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.summary import format_counts, summary_line
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import CONTROL_FLOW_OPS, FUNCTION_STEP, ValueInfo
from cfexplore.render.graph_text import render_tree
from cfexplore.render.labels import item_label
from tests.backend_cases import all_cases
from tests.builders import tv

OPSET = [helper.make_opsetid("", 18)]
F = TensorProto.FLOAT


# --------------------------------------------------------------------------- helpers


def walk(item: GraphItem | NodeItem) -> Iterator[GraphItem | NodeItem]:
    """Every item of the inlined tree below (and including) `item`, depth-first."""
    stack: list[GraphItem | NodeItem] = [item]
    while stack:
        it = stack.pop()
        yield it
        stack.extend(reversed(list(it.children())))


def export_text(renderable: object, width: int = 120) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return console.export_text()


def if_model(node_name: str = "the_if") -> onnx.ModelProto:
    """`If(c)` whose branches read the outer-scope `x`."""
    then = helper.make_graph(
        [
            helper.make_node("Constant", [], ["two"], value=helper.make_tensor("t", F, [], [2.0])),
            helper.make_node("Mul", ["x", "two"], ["t_out"], name="then_mul"),
        ],
        "then",
        [],
        [tv("t_out")],
    )
    other = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e_out"])], "else", [], [tv("e_out")]
    )
    node = helper.make_node("If", ["c"], ["y"], name=node_name, then_branch=then, else_branch=other)
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x0"], ["x"]), node],
        "main",
        [tv("c", TensorProto.BOOL, []), tv("x0", F, [1, 3, 8, 8])],
        [tv("y")],
    )
    return helper.make_model(graph, opset_imports=OPSET)


def nested_if_model(levels: int) -> onnx.ModelProto:
    """`levels` Ifs, each nested in the previous one's then_branch."""

    def level(d: int) -> onnx.GraphProto:
        out = f"o{d}"
        if d == 0:
            return helper.make_graph(
                [helper.make_node("Identity", ["x"], [out])], "leaf", [], [tv(out)]
            )
        other = helper.make_graph(
            [helper.make_node("Neg", ["x"], [f"{out}e"])], f"else{d}", [], [tv(f"{out}e")]
        )
        node = helper.make_node(
            "If", ["c"], [out], name=f"if{d}", then_branch=level(d - 1), else_branch=other
        )
        return helper.make_graph([node], f"g{d}", [], [tv(out)])

    graph = level(levels)
    graph.input.extend([tv("c", TensorProto.BOOL, []), tv("x", F, [2])])
    return helper.make_model(graph, opset_imports=OPSET)


def function_model() -> onnx.ModelProto:
    """A local function (holding an If) called at top level and inside an If branch."""
    fn_then = helper.make_graph([helper.make_node("Abs", ["a"], ["ta"])], "ft", [], [tv("ta")])
    fn_else = helper.make_graph([helper.make_node("Neg", ["a"], ["fa"])], "fe", [], [tv("fa")])
    fn = helper.make_function(
        "local",
        "Block",
        ["a", "flag"],
        ["b"],
        [
            helper.make_node("Relu", ["a"], ["r"], name="block_relu"),
            helper.make_node(
                "If", ["flag"], ["b0"], name="block_if", then_branch=fn_then, else_branch=fn_else
            ),
            helper.make_node("Add", ["r", "b0"], ["b"], name="block_add"),
        ],
        opset_imports=OPSET,
    )
    then = helper.make_graph(
        [helper.make_node("Block", ["x", "c"], ["tb"], domain="local", name="call_in_then")],
        "then",
        [],
        [tv("tb")],
    )
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["eb"])], "else", [], [tv("eb")])
    graph = helper.make_graph(
        [
            helper.make_node("Block", ["x", "c"], ["y1"], domain="local", name="call_top"),
            helper.make_node(
                "If", ["c"], ["y2"], name="outer_if", then_branch=then, else_branch=other
            ),
        ],
        "main",
        [tv("x", F, [4]), tv("c", TensorProto.BOOL, [])],
        [tv("y1"), tv("y2")],
    )
    return helper.make_model(
        graph, opset_imports=[*OPSET, helper.make_opsetid("local", 1)], functions=[fn]
    )


# --------------------------------------------------------------------------- hand-built graphs


def test_if_branches_and_outer_scope_reads() -> None:
    tree = OnnxTree.from_model(if_model())
    assert tree.warnings == []
    assert tree.root.kind == "graph" and tree.root.path == () and tree.root.depth == 0
    assert tree.root.node_count == 2 and tree.root.child_count == 2
    assert tree.root.counts["If"] == 1
    assert tree.total_counts == {"If": 1, "Loop": 0, "Scan": 0, "SequenceMap": 0}
    assert tree.root.outer_scope_reads == []

    relu, node = list(tree.root.children())
    assert not relu.has_children and relu.child_count == 0
    assert relu.display_name == "Relu#0" and relu.name == ""
    assert isinstance(node, NodeItem) and node.is_control_flow and node.has_children
    assert node.path == (1,) and node.depth == 1
    assert node.summary == "c -> y"

    then, other = list(node.children())
    assert (then.kind, then.attr_name, then.path) == ("subgraph", "then_branch", (1, "then_branch"))
    assert other.attr_name == "else_branch"
    assert then.node_count == 2 and then.depth == 2
    assert then.outer_scope_reads == ["x"]
    assert other.outer_scope_reads == ["x"]
    assert item_label(then).plain == "then_branch  (2 nodes)"

    detail = node.detail()
    assert detail.outer_scope_reads == ["x"]
    assert detail.path == "1"
    assert [v.describe() for v in detail.inputs] == ["c: bool[]"]
    assert dict(detail.attributes) == {
        "then_branch": "graph (2 nodes)",
        "else_branch": "graph (1 node)",
    }

    # A branch node reads `x` from the enclosing scope: its type comes from there.
    mul = list(then.children())[1]
    assert mul.path == (1, "then_branch", 1)
    mul_detail = mul.detail()
    assert [v.describe() for v in mul_detail.inputs] == ["x: float32[1,3,8,8]", "two: float32[]"]
    assert mul_detail.outputs[0].describe() == "t_out: float32[1,3,8,8]"
    const = next(then.children())
    assert const.detail().attributes == [("value", "tensor float32[] = 2")]

    assert tree.node_by_path((1, "then_branch", 1)) is mul
    assert path_from_str(path_to_str(mul.path)) == mul.path
    with pytest.raises(KeyError):
        tree.node_by_path((1, "body"))
    with pytest.raises(KeyError):
        tree.node_by_path((5,))


def test_labels_mark_control_flow() -> None:
    tree = OnnxTree.from_model(if_model())
    relu, node = list(tree.root.children())
    label = item_label(node)
    assert isinstance(label, Text)
    assert label.plain.startswith("◆ If")
    assert "the_if" in label.plain and "c -> y" in label.plain
    styles = {str(span.style) for span in label.spans}
    assert "bold magenta" in styles and "dim" in styles
    assert not item_label(relu).plain.startswith("◆")


def test_bracketed_name_is_plain_text() -> None:
    tree = OnnxTree.from_model(if_model(node_name="[/model/If]"))
    node = tree.root.child(1)
    assert "[/model/If]" in item_label(node).plain
    assert node.detail().name == "[/model/If]"
    assert "[/model/If]" in export_text(render_tree(tree))


def test_loop_body() -> None:
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "step"], ["v_out"]),
        ],
        "body",
        [tv("i", TensorProto.INT64, []), tv("cond_in", TensorProto.BOOL, []), tv("v_in", F, [3])],
        [tv("cond_out", TensorProto.BOOL, []), tv("v_out", F, [3])],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "v0"], ["v_final"], body=body, name="loop")],
        "main",
        [tv("M", TensorProto.INT64, []), tv("v0", F, [3]), tv("step", F, [3])],
        [tv("v_final", F, [3])],
    )
    tree = OnnxTree.from_model(helper.make_model(graph, opset_imports=OPSET))
    loop = tree.root.child(0)
    assert loop.is_control_flow and loop.summary == "M, ∅, v0 -> v_final"
    (body_item,) = list(loop.children())
    assert body_item.attr_name == "body" and body_item.node_count == 2
    assert [v.describe() for v in body_item.inputs] == [
        "i: int64[]",
        "cond_in: bool[]",
        "v_in: float32[3]",
    ]
    assert body_item.outer_scope_reads == ["step"]
    assert loop.detail().outer_scope_reads == ["step"]
    assert tree.total_counts["Loop"] == 1
    assert [n.path for n in tree.iter_control_flow()] == [(0,)]


def test_thirty_nested_ifs_browse_to_bottom() -> None:
    tree = OnnxTree.from_model(nested_if_model(30))
    assert tree.total_counts["If"] == 30
    item: GraphItem | NodeItem = tree.root
    ifs = 0
    while True:
        node = next(item.children())
        if node.op_type == "Identity":
            break
        assert node.is_control_flow and node.child_count == 2
        ifs += 1
        item = next(node.children())  # then_branch
        assert item.attr_name == "then_branch"
    assert ifs == 30
    assert node.depth == 1 + 2 * 30
    assert node.detail().inputs[0].describe() == "x: float32[2]"  # read 30 scopes up
    assert tree.node_by_path(node.path) is node
    found = list(tree.iter_control_flow())
    assert [n.name for n in found] == [f"if{d}" for d in range(30, 0, -1)]
    # outer-scope reads propagate through every level
    assert set(tree.root.child(0).detail().outer_scope_reads) == {"c", "x"}

    export_text(render_tree(tree), width=120)  # rich clips the deepest levels; no error
    full = export_text(render_tree(tree), width=400)
    assert full.count("◆ If") == 30 and "Identity" in full
    text = export_text(render_tree(tree, depth=2))
    assert "… 2 nested graphs (use --depth)" in text
    assert text.count("◆ If") == 3


def test_local_function_is_inlined_at_each_call() -> None:
    tree = OnnxTree.from_model(function_model())
    assert tree.function_names == ["local.Block"]
    call_top, outer_if = list(tree.root.children())
    assert call_top.function_name == "local.Block" and not call_top.is_control_flow
    assert call_top.has_children and call_top.child_count == 1
    assert item_label(call_top).plain.startswith("ƒ local::Block")
    (body,) = list(call_top.children())
    assert body.kind == "function" and body.path == (0, FUNCTION_STEP)
    assert item_label(body).plain == "function local.Block  (3 nodes)"
    assert [n.name for n in body.children()] == ["block_relu", "block_if", "block_add"]
    # formal parameters are typed from the call's arguments, the body by inference
    assert [v.describe() for v in body.inputs] == ["a: float32[4]", "flag: bool[]"]
    assert body.child(0).detail().outputs[0].describe() == "r: float32[4]"
    assert call_top.detail().function == "local.Block"
    block_if = body.child(1)
    # types inside the function's own subgraphs are inferred for this call too
    abs_node = block_if.child("then_branch").child(0)
    assert [v.describe() for v in abs_node.detail().outputs] == ["ta: float32[4]"]
    assert block_if.is_control_flow and [g.attr_name for g in block_if.children()] == [
        "then_branch",
        "else_branch",
    ]

    # The If's then_branch calls the function again: inlined there too.
    then = outer_if.child("then_branch")
    call_in_then = then.child(0)
    inner_body = call_in_then.child(FUNCTION_STEP)
    assert inner_body.kind == "function"
    assert inner_body.path == (1, "then_branch", 0, FUNCTION_STEP)
    assert [n.op_type for n in inner_body.children()] == ["Relu", "If", "Add"]

    # Function contents count at every call: outer If + the Block's If twice.
    assert tree.total_counts["If"] == 3
    assert tree.root.counts["If"] == 1
    assert then.total_counts["If"] == 1
    paths = [n.path for n in tree.iter_control_flow()]
    assert paths == [(0, FUNCTION_STEP, 1), (1,), (1, "then_branch", 0, FUNCTION_STEP, 1)]
    assert all(tree.node_by_path(p).is_control_flow for p in paths)

    everything = list(walk(tree.root))
    assert sum(isinstance(i, NodeItem) and i.is_control_flow for i in everything) == 3
    text = export_text(render_tree(tree))
    assert "function local.Block  (3 nodes)" in text


def test_recursive_functions_are_cut() -> None:
    ping = helper.make_function(
        "local",
        "Ping",
        ["a"],
        ["b"],
        [helper.make_node("Pong", ["a"], ["b"], domain="local")],
        opset_imports=[*OPSET, helper.make_opsetid("local", 1)],
    )
    pong = helper.make_function(
        "local",
        "Pong",
        ["a"],
        ["b"],
        [helper.make_node("Ping", ["a"], ["b"], domain="local")],
        opset_imports=[*OPSET, helper.make_opsetid("local", 1)],
    )
    graph = helper.make_graph(
        [helper.make_node("Ping", ["x"], ["y"], domain="local")], "main", [tv("x")], [tv("y")]
    )
    model = helper.make_model(
        graph, opset_imports=[*OPSET, helper.make_opsetid("local", 1)], functions=[ping, pong]
    )
    tree = OnnxTree.from_model(model)
    items = list(walk(tree.root))
    ops = [i.op_type for i in items if isinstance(i, NodeItem)]
    assert ops == ["Ping", "Pong", "Ping"]
    last = items[-1]
    assert isinstance(last, NodeItem) and last.is_recursive_call and not last.has_children
    assert "recursive" in item_label(last).plain
    assert tree.total_counts == dict.fromkeys(CONTROL_FLOW_OPS, 0)
    assert list(tree.iter_control_flow()) == []


def test_graphs_list_attribute_unknown_domain_and_missing_types() -> None:
    g0 = helper.make_graph([helper.make_node("Relu", ["x"], ["a"])], "g0", [], [tv("a")])
    g1 = helper.make_graph([helper.make_node("Neg", ["z"], ["b"])], "g1", [], [tv("b")])
    node = helper.make_node(
        "Switch",
        ["x"],
        ["y"],
        domain="com.example",
        branches=[g0, g1],
        ints=list(range(20)),
        mode="fast",
        eps=1e-5,
        weight=helper.make_tensor("w", F, [64, 3, 3, 3], [0.0] * (64 * 27)),
    )
    untyped = onnx.ValueInfoProto(name="y")
    graph = helper.make_graph([node], "main", [tv("x")], [untyped])
    model = helper.make_model(graph, opset_imports=[*OPSET, helper.make_opsetid("com.example", 1)])
    tree = OnnxTree.from_model(model)
    switch = tree.root.child(0)
    assert not switch.is_control_flow and item_label(switch).plain.startswith("com.example::Switch")
    keys = [g.attr_name for g in switch.children()]
    assert keys == ["branches[0]", "branches[1]"]
    assert tree.node_by_path((0, "branches[1]", 0)).op_type == "Neg"
    assert switch.child("branches[1]").outer_scope_reads == ["z"]
    detail = switch.detail()
    attrs = dict(detail.attributes)
    assert attrs["branches"] == "[graph (1 node), graph (1 node)]"
    assert attrs["ints"].startswith("[0, 1, 2") and "(20 total)" in attrs["ints"]
    assert attrs["mode"] == "'fast'"
    assert attrs["eps"] == "1e-05"
    assert attrs["weight"] == "tensor float32[64,3,3,3]"
    assert detail.outer_scope_reads == ["x", "z"]
    assert detail.outputs == [ValueInfo("y")]
    assert detail.outputs[0].describe() == "y: ?"
    assert ValueInfo("s", "seq(float32)").describe() == "s: seq(float32)"
    assert ValueInfo("d", "float32", ("N", None, 3)).describe() == "d: float32[N,?,3]"


def test_empty_graph_and_failed_inference() -> None:
    empty = helper.make_model(helper.make_graph([], "empty", [], []), opset_imports=OPSET)
    tree = OnnxTree.from_model(empty)
    assert not tree.root.has_children and tree.root.child_count == 0
    assert list(tree.root.children()) == [] and list(tree.iter_control_flow()) == []
    assert tree.total_counts == dict.fromkeys(CONTROL_FLOW_OPS, 0)
    assert "0 nodes" in summary_line(tree)
    export_text(render_tree(tree))

    no_opset = if_model()
    no_opset.ClearField("opset_import")
    tree = OnnxTree.from_model(no_opset)
    assert len(tree.warnings) == 1 and tree.warnings[0].startswith("shape inference failed")
    node = tree.root.child(1)
    assert node.child("then_branch").child(1).detail().outputs[0].describe() == "t_out: float32"
    assert tree.opset_imports == {}


def test_metadata_and_doc_string_kept() -> None:
    model = if_model()
    node = model.graph.node[1]
    node.doc_string = "why this If exists"
    entry = node.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.stack_trace", 'File "m.py", line 3'
    detail = OnnxTree.from_model(model).root.child(1).detail()
    assert detail.doc_string == "why this If exists"
    assert detail.metadata == {"pkg.torch.onnx.stack_trace": 'File "m.py", line 3'}


def test_hundred_thousand_nodes_load_lazily() -> None:
    n = 100_000
    graph = onnx.GraphProto(name="big")
    graph.input.append(tv("v0", F, [4]))
    for i in range(n):
        node = graph.node.add()
        node.op_type = "Relu"
        node.input.append(f"v{i}")
        node.output.append(f"v{i + 1}")
    graph.output.append(tv(f"v{n}", F, [4]))
    tree = OnnxTree.from_model(helper.make_model(graph, opset_imports=OPSET))
    assert tree.items_created == 1  # just the root
    assert tree.root.child_count == n and tree.root.has_children
    first = list(tree.root.children(0, 250))
    assert len(first) == 250 and first[-1].path == (249,)
    assert tree.items_created == 251
    assert [i.path for i in tree.root.children(250, 500)][0] == (250,)
    assert tree.items_created == 501
    assert list(tree.root.children(0, 250)) == first  # cached, same objects
    assert tree.items_created == 501
    last = tree.node_by_path((n - 1,))
    assert last.detail().outputs[0].describe() == f"v{n}: float32[4]"
    assert tree.items_created == 502
    assert list(tree.root.children(n - 5))[-1] is last
    assert list(tree.iter_control_flow()) == []
    assert tree.items_created == 506


# --------------------------------------------------------------------------- opening files


def test_open_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(GraphError, match="no such file") as exc:
        OnnxTree.open(missing)
    assert str(missing) in str(exc.value) and "\n" not in str(exc.value)

    with pytest.raises(GraphError, match="is a directory"):
        OnnxTree.open(tmp_path)

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(GraphError, match=r"^cannot parse .*junk\.onnx: ") as exc:
        OnnxTree.open(junk)
    assert "\n" not in str(exc.value)

    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(GraphError, match="cannot parse"):
        OnnxTree.open(empty)


def test_open_file_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "if.onnx"
    onnx.save(if_model(), path)
    tree = OnnxTree.open(path)
    assert tree.path == os.fspath(path)
    assert tree.opset_imports == {"": 18}
    assert tree.ir_version == onnx.helper.make_model(onnx.GraphProto()).ir_version
    assert summary_line(tree).startswith("if.onnx: 2 nodes · If 1 · Loop 0 · Scan 0 · opset 18")


# --------------------------------------------------------------------------- rendering


def test_render_tree_nesting_depth_and_limit() -> None:
    tree = OnnxTree.from_model(if_model())
    text = export_text(render_tree(tree))
    assert "If 1 · Loop 0 · Scan 0" in text.splitlines()[0]
    lines = text.splitlines()
    if_line = next(i for i, ln in enumerate(lines) if "◆ If" in ln)
    then_line = next(i for i, ln in enumerate(lines) if "then_branch  (2 nodes)" in ln)
    assert then_line > if_line
    assert lines[then_line].index("then_branch") > lines[if_line].index("◆")
    assert "then_mul" in text and "else_branch  (1 node)" in text

    shallow = export_text(render_tree(tree, depth=0))
    assert "then_branch" not in shallow
    assert "… 2 nested graphs (use --depth)" in shallow

    limited = export_text(render_tree(tree, limit=1))
    assert "… 1 more node" in limited and "◆ If" not in limited

    assert format_counts({"If": 2, "Loop": 1}) == "If 2 · Loop 1 · Scan 0"
    assert format_counts({"SequenceMap": 1}) == "If 0 · Loop 0 · Scan 0 · SequenceMap 1"


# --------------------------------------------------------------------------- real exports


def test_torchscript_if_export(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class Branchy(torch.nn.Module):
        def forward(self, flag: bool, x: torch.Tensor) -> torch.Tensor:
            if flag:  # noqa: SIM108 (a real if statement is the point)
                y = x * 2
            else:
                y = x - 1
            return y

    scripted = torch.jit.script(Branchy())
    path = tmp_path / "branchy.onnx"
    torch.onnx.export(
        scripted,
        (True, torch.randn(2, 3)),
        path,
        dynamo=False,
        opset_version=18,
        input_names=["flag", "x"],
    )
    tree = OnnxTree.open(path)
    assert tree.total_counts["If"] == 1
    (node,) = list(tree.iter_control_flow())
    assert node.op_type == "If"
    assert [g.attr_name for g in node.children()] == ["then_branch", "else_branch"]
    assert all(g.node_count > 0 for g in node.children())
    assert "x" in node.detail().outer_scope_reads
    assert [v.describe() for v in tree.root.inputs][1] == "x: float32[2,3]"


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_dynamo_torch_cond_export(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class Cond(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            def yes(x: torch.Tensor) -> torch.Tensor:
                return x.sin() + 1

            def no(x: torch.Tensor) -> torch.Tensor:
                return x.cos() * 2

            return torch.cond(x.sum() > 0, yes, no, (x,))

    path = tmp_path / "cond.onnx"
    torch.onnx.export(Cond().eval(), (torch.randn(3, 4),), path, dynamo=True, optimize=False)
    tree = OnnxTree.open(path)
    assert tree.total_counts["If"] >= 1
    ifs = list(tree.iter_control_flow())
    assert ifs and ifs[0].op_type == "If"
    branches = list(ifs[0].children())
    assert {g.attr_name for g in branches} == {"then_branch", "else_branch"}
    if tree.model.functions:
        # Older exporters put branch bodies in local functions: they must be inlined.
        ops = {i.op_type for g in branches for i in walk(g) if isinstance(i, NodeItem)}
        assert {"Sin", "Cos"} <= ops
    else:
        ops = {n.op_type for g in branches for n in g.children()}
        assert {"Sin", "Cos"} <= ops
    assert ifs[0].detail().metadata  # dynamo's source info is kept
    for item in walk(tree.root):
        if isinstance(item, NodeItem):
            item.detail()


# --------------------------------------------------------------------------- onnx backend models


@pytest.fixture(scope="module")
def backend_cases() -> dict[str, onnx.ModelProto]:
    return {name: case.model for name, case in all_cases().items() if case.model is not None}


EXPECTED = {
    "test_if": ("If", ["then_branch", "else_branch"]),
    "test_loop11": ("Loop", ["body"]),
    "test_scan_sum": ("Scan", ["body"]),
    "test_scan9_sum": ("Scan", ["body"]),
    "test_loop16_seq_none": ("Loop", ["body"]),
    "test_if_seq": ("If", ["then_branch", "else_branch"]),
    "test_sequence_map_identity_1_sequence": ("SequenceMap", ["body"]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_backend_control_flow_models(backend_cases: dict[str, onnx.ModelProto], name: str) -> None:
    if name not in backend_cases:
        pytest.skip(f"{name} not in this onnx version")
    op, attrs = EXPECTED[name]
    tree = OnnxTree.from_model(backend_cases[name])
    assert tree.total_counts[op] >= 1
    node = next(tree.iter_control_flow())
    assert node.op_type == op
    assert [g.attr_name for g in node.children()] == attrs
    assert all(g.kind == "subgraph" and g.has_children for g in node.children())
    detail = node.detail()
    assert detail.op_type == op and len(detail.inputs) == len(node.proto.input)


def test_every_backend_model_walks_cleanly(backend_cases: dict[str, onnx.ModelProto]) -> None:
    assert len(backend_cases) > 1000
    start = time.perf_counter()
    nodes = 0
    for name, model in backend_cases.items():
        tree = OnnxTree.from_model(model)
        seen_cf = 0
        for item in walk(tree.root):
            item_label(item)
            if isinstance(item, NodeItem):
                nodes += 1
                detail = item.detail()
                [v.describe() for v in (*detail.inputs, *detail.outputs)]
                seen_cf += item.is_control_flow
        assert seen_cf == sum(tree.total_counts.values()), name
        assert seen_cf == len(list(tree.iter_control_flow())), name
        summary_line(tree)
    assert nodes > len(backend_cases)
    assert time.perf_counter() - start < 30


def test_tree_lines_match_render_tree_and_stream_plain() -> None:
    """The streaming renderer `cfexplore tree` uses shows what the rich Tree shows."""
    from cfexplore.render.graph_text import tree_lines

    tree = OnnxTree.from_model(if_model())
    rich_text = export_text(render_tree(tree), width=400)
    plain = list(tree_lines(tree, plain=True))
    styled = [line.plain for line in tree_lines(tree)]  # type: ignore[union-attr]
    assert plain == styled
    assert [ln.rstrip() for ln in rich_text.splitlines()] == plain
    limited = list(tree_lines(tree, limit=1, plain=True))
    assert limited[-1].endswith("… 1 more node")
    shallow = "\n".join(tree_lines(tree, depth=0, plain=True))  # type: ignore[arg-type]
    assert "… 2 nested graphs (use --depth)" in shallow and "then_branch" not in shallow
