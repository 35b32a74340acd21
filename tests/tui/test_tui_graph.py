"""Pilot tests for the Graph screen: lazy ONNX node tree, control-flow navigation, details."""

from __future__ import annotations

import os
import time
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from cfexplore.graph.items import NodeItem
from cfexplore.tui.app import CfxApp
from cfexplore.tui.messages import OnnxRef
from cfexplore.tui.screens.graph import GraphScreen
from cfexplore.tui.widgets.node_detail import NodeDetailView
from cfexplore.tui.widgets.onnx_tree import CHUNK, Gap, OnnxTreeView, find_matches
from tests.builders import tv

OPSET = [helper.make_opsetid("", 18)]
F = TensorProto.FLOAT
SIZE = (100, 30)


# --------------------------------------------------------------------------- models


def if_loop_model(if_name: str = "the_if") -> onnx.ModelProto:
    """Relu, an If whose branches read the outer `x`, then a Loop adding `x` each step."""
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
        [helper.make_node("Neg", ["x"], ["e_out"], name="else_neg")], "else", [], [tv("e_out")]
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="loop_cond"),
            helper.make_node("Add", ["v_in", "x"], ["v_out"], name="loop_add"),
        ],
        "body",
        [tv("i", TensorProto.INT64, []), tv("cond_in", TensorProto.BOOL, []), tv("v_in")],
        [tv("cond_out", TensorProto.BOOL, []), tv("v_out")],
    )
    nodes = [
        helper.make_node("Relu", ["x0"], ["x"], name="first_relu"),
        helper.make_node("If", ["c"], ["y"], name=if_name, then_branch=then, else_branch=other),
        helper.make_node("Loop", ["M", "", "y"], ["z"], name="the_loop", body=body),
    ]
    graph = helper.make_graph(
        nodes,
        "main",
        [tv("c", TensorProto.BOOL, []), tv("x0", F, [1, 3, 8, 8]), tv("M", TensorProto.INT64, [])],
        [tv("z")],
    )
    return helper.make_model(graph, opset_imports=OPSET)


def nested_if_model(levels: int) -> onnx.ModelProto:
    """`levels` Ifs, each in the then_branch of the one above."""

    def level(d: int) -> onnx.GraphProto:
        out = f"y{d}"
        if d == levels:
            return helper.make_graph(
                [helper.make_node("Identity", ["x"], [out], name="leaf")], "leaf", [], [tv(out)]
            )
        other = helper.make_graph(
            [helper.make_node("Neg", ["x"], [f"{out}e"])], f"else{d}", [], [tv(f"{out}e")]
        )
        node = helper.make_node(
            "If", ["c"], [out], name=f"if_{d}", then_branch=level(d + 1), else_branch=other
        )
        return helper.make_graph([node], f"g{d}", [], [tv(out)])

    top = level(0)
    graph = helper.make_graph(
        list(top.node), "main", [tv("c", TensorProto.BOOL, []), tv("x", F, [2])], [tv("y0")]
    )
    return helper.make_model(graph, opset_imports=OPSET)


def flat_model(n: int, loop_at: int | None = None) -> onnx.ModelProto:
    """A chain of `n` Relus (optionally one a Loop instead, deep in the list)."""
    nodes = [helper.make_node("Relu", [f"v{i}"], [f"v{i + 1}"], name=f"relu_{i}") for i in range(n)]
    if loop_at is not None:
        body = helper.make_graph(
            [
                helper.make_node("Identity", ["ci"], ["co"]),
                helper.make_node("Relu", ["a"], ["b"], name="deep_body_relu"),
            ],
            "body",
            [tv("i", TensorProto.INT64, []), tv("ci", TensorProto.BOOL, []), tv("a")],
            [tv("co", TensorProto.BOOL, []), tv("b")],
        )
        nodes[loop_at] = helper.make_node(
            "Loop", ["M", "", f"v{loop_at}"], [f"v{loop_at + 1}"], name="deep_loop", body=body
        )
    inputs = [tv("v0", F, [1, 4]), tv("M", TensorProto.INT64, [])]
    graph = helper.make_graph(nodes, "flat", inputs, [tv(f"v{n}")])
    return helper.make_model(graph, opset_imports=OPSET)


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, os.fspath(path))
    return path


# --------------------------------------------------------------------------- helpers


async def open_graph(app: CfxApp, pilot, path: Path) -> tuple[GraphScreen, OnnxTreeView]:  # noqa: ANN001
    """Show `path` in the Graph screen and wait until the tree is built."""
    app.set_onnx(OnnxRef(str(path), path.name))
    await app.switch_mode("graph")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, GraphScreen)
    return screen, screen.query_one(OnnxTreeView)


async def settle(app: CfxApp, pilot, delay: float = 0.0) -> None:  # noqa: ANN001
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause(delay) if delay else await pilot.pause()


def visible_labels(view: OnnxTreeView) -> list[str]:
    """Plain labels of the rows currently displayed (expanded paths only)."""
    out = []
    for line in range(view.last_line + 1):
        node = view.get_node_at_line(line)
        assert node is not None
        out.append(str(node.label))
    return out


def cursor_item(view: OnnxTreeView):  # noqa: ANN201
    node = view.cursor_node
    assert node is not None
    return node.data


async def detail_text(app: CfxApp, pilot) -> str:  # noqa: ANN001
    await pilot.pause(0.2)  # the detail pane is debounced
    return app.screen.query_one(NodeDetailView).plain_text


# --------------------------------------------------------------------------- tests


async def test_if_expands_into_branches_and_details(tmp_path: Path) -> None:
    path = save(if_loop_model(), tmp_path / "model.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        screen, view = await open_graph(app, pilot, path)
        labels = visible_labels(view)
        assert any("the_if" in label and label.lstrip("◆ ").startswith("If") for label in labels)
        summary = str(screen.query_one("#graph-summary").render())
        assert "model.onnx" in summary and "If 1" in summary and "Loop 1" in summary
        # cursor: root -> Relu -> If; enter expands it, its branches show
        await pilot.press("down", "down")
        assert isinstance(cursor_item(view), NodeItem)
        assert cursor_item(view).op_type == "If"
        text = await detail_text(app, pilot)
        assert "Inputs (1)" in text and "c: bool" in text
        assert "Outputs (1)" in text and "y:" in text
        assert "then_branch" in text and "Outer-scope reads" in text and "x" in text
        await pilot.press("enter")
        await settle(app, pilot)
        labels = visible_labels(view)
        assert any(label.startswith("then_branch") for label in labels)
        assert any(label.startswith("else_branch") for label in labels)
        # then_branch is collapsed: expand it with the right arrow and see its nodes
        await pilot.press("down", "right")
        await settle(app, pilot)
        labels = visible_labels(view)
        assert any("then_mul" in label for label in labels)
        await pilot.press("down", "down")
        text = await detail_text(app, pilot)
        assert "Mul" in text and "x: float32[1,3,8,8]" in text and "t_out" in text


async def test_next_and_previous_control_flow(tmp_path: Path) -> None:
    path = save(if_loop_model(), tmp_path / "model.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        _, view = await open_graph(app, pilot, path)
        await pilot.press("n")
        assert cursor_item(view).op_type == "If"
        await pilot.press("n")
        assert cursor_item(view).op_type == "Loop"
        await pilot.press("N")
        assert cursor_item(view).op_type == "If"
        await pilot.press("N")  # wraps around to the last one
        assert cursor_item(view).op_type == "Loop"


async def test_filter_shows_matches_and_escape_clears(tmp_path: Path) -> None:
    path = save(if_loop_model(), tmp_path / "model.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        _, view = await open_graph(app, pilot, path)
        await pilot.press("slash")
        await pilot.press(*"Loop", "enter")
        await settle(app, pilot)
        assert view.filter_text == "Loop"
        labels = visible_labels(view)
        assert "3 matches" in labels[0]  # the Loop, and two body nodes named loop_*
        assert len(labels) == 5 and "the_loop" in labels[1] and labels[2].startswith("body")
        assert not any("first_relu" in label or "the_if" in label for label in labels)
        assert cursor_item(view).op_type == "Loop"
        # names match too, case-insensitively: loop_add lives inside the Loop body
        await pilot.press("slash", *"LOOP_ADD", "enter")  # the old text is selected: replaced
        await settle(app, pilot)
        labels = visible_labels(view)
        assert len(labels) == 4 and "1 match" in labels[0]
        assert "the_loop" in labels[1] and labels[2].startswith("body")  # the ancestor path
        assert "loop_add" in labels[3]
        await pilot.press("escape")
        await settle(app, pilot)
        assert view.filter_text == ""
        assert not app.screen.query_one("#graph-filter-bar").has_class("-open")
        labels = visible_labels(view)
        assert any("first_relu" in label for label in labels)
        assert cursor_item(view).name == "loop_add"  # the cursor stays where it was


async def test_bracketed_name_shows_literally(tmp_path: Path) -> None:
    path = save(if_loop_model("[/model/If]"), tmp_path / "model.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        _, view = await open_graph(app, pilot, path)
        assert any("[/model/If]" in label for label in visible_labels(view))
        await pilot.press("n")
        assert "[/model/If]" in await detail_text(app, pilot)
        await pilot.press("slash", *"[/model", "enter")
        await settle(app, pilot)
        assert any("[/model/If]" in label for label in visible_labels(view))


async def test_thirty_nested_ifs(tmp_path: Path) -> None:
    path = save(nested_if_model(30), tmp_path / "nested.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        _, view = await open_graph(app, pilot, path)
        await pilot.press("e")
        await settle(app, pilot)
        labels = visible_labels(view)
        assert sum("if_" in label for label in labels) == 30
        assert any("leaf" in label for label in labels)
        await pilot.press("c")
        await settle(app, pilot)
        assert len(visible_labels(view)) == 2  # root and the top If
        # n walks down the nesting, expanding as it goes
        for d in range(5):
            await pilot.press("n")
            assert cursor_item(view).name == f"if_{d}"
        # the app can jump to any item by path
        leaf_path = (0, *(["then_branch", 0] * 30))
        assert app.screen.show_path(leaf_path)
        assert cursor_item(view).name == "leaf"


@pytest.mark.slow
async def test_wide_graph_is_built_in_chunks(tmp_path: Path) -> None:
    path = save(flat_model(20_000, loop_at=15_000), tmp_path / "wide.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.set_onnx(OnnxRef(str(path), path.name))
        start = time.perf_counter()
        await app.switch_mode("graph")
        await settle(app, pilot)
        elapsed = time.perf_counter() - start
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        view = screen.query_one(OnnxTreeView)
        assert elapsed < 5
        assert CHUNK <= view.row_count < 1_000
        last = view.root.children[-1]
        assert isinstance(last.data, Gap) and "more nodes" in str(last.label)
        # n reaches a Loop deep in the list: only the chunk around it is built
        await pilot.press("n")
        await settle(app, pilot)
        item = cursor_item(view)
        assert item.name == "deep_loop" and item.path == (15_000,)
        assert view.row_count < 1_500
        await pilot.press("enter")
        await settle(app, pilot)
        assert any(label.startswith("body") for label in visible_labels(view))
        # walking onto a placeholder loads the next chunk and keeps the cursor in order
        view.reveal((CHUNK * 2 - 1,))
        await pilot.press("down")
        await settle(app, pilot)
        assert cursor_item(view).path == (CHUNK * 2,)
        # holding the down key stays responsive
        start = time.perf_counter()
        for _ in range(50):
            await pilot.press("down")
        assert time.perf_counter() - start < 10
        await settle(app, pilot, 0.2)
        assert cursor_item(view).path == (CHUNK * 2 + 50,)


@pytest.mark.slow
async def test_home_end_g_reach_the_first_and_last_row_of_a_wide_graph(tmp_path: Path) -> None:
    """End / G land on the graph's last node although its rows are built lazily (it used
    to stop at the last built chunk); Home / g go back to the first row."""
    path = save(flat_model(20_000, loop_at=15_000), tmp_path / "wide.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.set_onnx(OnnxRef(str(path), path.name))
        await app.switch_mode("graph")
        await settle(app, pilot)
        view = app.screen.query_one(OnnxTreeView)
        view.focus()
        for last, first in (("end", "home"), ("G", "g")):
            await pilot.press(last)
            await settle(app, pilot)
            assert cursor_item(view).path == (19_999,), cursor_item(view).path
            assert view.row_count < 2_000  # only the last chunk was built
            await pilot.press(first)
            await settle(app, pilot)
            assert view.cursor_line == 0
        await pilot.press("end", "up")
        await settle(app, pilot)
        assert cursor_item(view).path == (19_998,)


async def test_bad_file_shows_error_and_app_keeps_running(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(os.urandom(4096))
    good = save(if_loop_model(), tmp_path / "good.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        screen, view = await open_graph(app, pilot, bad)
        assert app.is_running
        assert screen.model is None
        empty = screen.query_one("#graph-empty")
        assert empty.display and empty.has_class("error-text")
        assert "Cannot open" in str(empty.render()) and "bad.onnx" in str(empty.render())
        await pilot.press("n", "e", "slash")  # nothing to act on: no crash
        await settle(app, pilot)
        assert app.is_running
        app.set_onnx(OnnxRef(str(good), good.name))
        await settle(app, pilot)
        assert screen.model is not None
        assert view.display and any("the_if" in label for label in visible_labels(view))


async def test_empty_state() -> None:
    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.switch_mode("graph")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        assert "Export a variant (2)" in str(screen.query_one("#graph-empty").render())
        assert not screen.query_one(OnnxTreeView).display


async def test_narrow_layout_stacks_and_detail_toggles(tmp_path: Path) -> None:
    path = save(if_loop_model(), tmp_path / "model.onnx")
    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen, view = await open_graph(app, pilot, path)
        detail = screen.query_one(NodeDetailView)
        assert screen.has_class("-narrow")
        assert detail.region.y > view.region.y and detail.region.width == 80  # below the tree
        assert view.region.height >= 8 and detail.region.height >= 6
        await pilot.press("d")
        await settle(app, pilot)
        assert detail.region.height == 0 and view.region.height >= 18
        await pilot.press("d")
        await pilot.resize_terminal(120, 35)
        await settle(app, pilot)
        assert not screen.has_class("-narrow")
        assert detail.region.x > view.region.x and detail.region.y == view.region.y  # beside


async def test_show_path_waits_for_the_model(tmp_path: Path) -> None:
    path = save(nested_if_model(3), tmp_path / "nested.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await app.switch_mode("graph")
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        app.set_onnx(OnnxRef(str(path), path.name))
        assert not screen.show_path((0, "then_branch", 0, "else_branch", 0))  # not open yet
        await settle(app, pilot)
        item = cursor_item(screen.query_one(OnnxTreeView))
        assert item.path == (0, "then_branch", 0, "else_branch", 0) and item.op_type == "Neg"
        assert "Neg" in await detail_text(app, pilot)


def test_find_matches_on_a_wide_model() -> None:
    from cfexplore.graph.tree import OnnxTree

    tree = OnnxTree.from_model(flat_model(20_000, loop_at=15_000))
    paths, total = find_matches(tree, "deep_", limit=10)
    assert paths == [(15_000,), (15_000, "body", 1)] and total == 2
    paths, total = find_matches(tree, "relu", limit=10)
    assert len(paths) == 10 and total == 20_000  # 19,999 Relus and one body Relu


async def test_real_torchscript_export(tmp_path: Path) -> None:
    import torch

    class IfElse(torch.nn.Module):
        def forward(self, flag: bool, x: torch.Tensor) -> torch.Tensor:
            if flag:
                return x * 2
            return x - 1

    path = tmp_path / "ifelse.onnx"
    torch.onnx.export(
        torch.jit.script(IfElse()),
        (torch.tensor(True), torch.randn(2, 3)),
        os.fspath(path),
        dynamo=False,
        input_names=["flag", "x"],
    )
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        _, view = await open_graph(app, pilot, path)
        await pilot.press("n")
        item = cursor_item(view)
        assert isinstance(item, NodeItem) and item.op_type == "If"
        text = await detail_text(app, pilot)
        assert "then_branch" in text and "else_branch" in text
        await pilot.press("e")
        await settle(app, pilot)
        labels = visible_labels(view)
        assert any(label.startswith("then_branch") for label in labels)
        assert any(label.startswith("Mul") for label in labels)


async def test_filter_pages_through_every_match_with_n_and_N(tmp_path: Path) -> None:
    """A filter with more matches than one page (500) reaches all of them: n past the
    page's last match shows the next page, N before its first the previous one, both wrap
    around; the top row says which matches are shown."""
    path = save(flat_model(1_200, loop_at=600), tmp_path / "wide.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        _, view = await open_graph(app, pilot, path)
        await pilot.press("slash", *"relu", "enter")
        await settle(app, pilot)
        assert "1,200 matches · 1–500 shown" in visible_labels(view)[0]
        assert cursor_item(view).name == "relu_0"
        await pilot.press("n", "n")
        await settle(app, pilot)
        assert cursor_item(view).name == "relu_2"
        await pilot.press("end", "n")
        await settle(app, pilot)
        assert "501–1,000 shown" in visible_labels(view)[0]
        assert cursor_item(view).name == "relu_500"
        await pilot.press("N")  # back to the end of the first page
        await settle(app, pilot)
        assert cursor_item(view).name == "relu_499" and "1–500 shown" in visible_labels(view)[0]
        await pilot.press("N", "N")
        await settle(app, pilot)
        assert cursor_item(view).name == "relu_497"
        await pilot.press("home", "N")  # before the first match: wraps to the last page
        await settle(app, pilot)
        assert "1,001–1,200 shown" in visible_labels(view)[0]
        assert cursor_item(view).name == "relu_1199"
        await pilot.press("n")  # after the last match: wraps to the first page
        await settle(app, pilot)
        assert cursor_item(view).name == "relu_0"
        for _ in range(2):  # the body match is found on the second page
            await pilot.press("end", "n")
            await settle(app, pilot)
        assert cursor_item(view).name == "relu_1000"
        await pilot.press("N")
        await settle(app, pilot)
        names = [cursor_item(view).name]
        assert names == ["relu_999"]


async def test_y_copies_the_node_name_and_the_error_text(tmp_path: Path) -> None:
    """y puts the node name (Graph) or the whole text (E, the error view) on the clipboard
    with OSC 52, which reaches the local terminal over SSH."""
    path = save(if_loop_model(), tmp_path / "model.onnx")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        _, view = await open_graph(app, pilot, path)
        view.focus()
        await pilot.press("n", "y")
        await settle(app, pilot)
        assert app.clipboard == "the_if"
        app.show_error("Export failed", "boom", "Traceback ...\nValueError: boom")
        await pilot.press("E")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == "boom\n\nTraceback ...\nValueError: boom"


def test_summary_is_cut_between_parts_never_inside_one() -> None:
    from rich.text import Text

    from cfexplore.tui.screens.graph import fit_parts

    line = Text("valid ✓ · m.onnx: 5 nodes · If 25 · Loop 0 · Scan 0 · opset 16")
    assert fit_parts(line, 200) is line
    for width in range(20, line.cell_len):
        cut = fit_parts(line, width).plain
        assert len(cut) <= width or cut == "valid ✓ · …"
        kept = cut.removesuffix(" · …").split(" · ")
        assert all(part in line.plain.split(" · ") for part in kept), cut
