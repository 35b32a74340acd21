"""Locate in the app: l on the Graph screen, and l on the Diff screen after a FAIL, run a
real locate in the target's worker and jump to the first diverging node."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Switch

from cfexplore.graph.items import NodeItem
from cfexplore.spec import TargetSpec
from cfexplore.tui.app import CfxApp
from cfexplore.tui.messages import OnnxRef
from cfexplore.tui.screens.graph import GraphScreen
from cfexplore.tui.widgets.node_detail import NodeDetailView
from cfexplore.tui.widgets.onnx_tree import OnnxTreeView
from tests.snapshot_fixtures import write_model
from tests.tui_helpers import settle, text_of

SIZE = (100, 30)


async def _export_on_graph(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    """Load variant `name`, export it with script (2, x), show it on the Graph screen (3)."""
    app = pilot.app
    app.load_target(TargetSpec(variant=name))
    await settle(pilot, lambda: app.state.spec is not None and app.state.spec.variant == name)
    await pilot.press("2", "s", "x")
    await settle(pilot, lambda: "script" in app.state.exports)
    await pilot.press("3")
    await settle(pilot, lambda: isinstance(app.screen, GraphScreen) and app.screen.model)


def _cursor(app: CfxApp) -> object:
    return app.screen.query_one(OnnxTreeView).highlighted_item


def _detail(app: CfxApp) -> str:
    return app.screen.query_one(NodeDetailView).plain_text


def _on_mul(app: CfxApp) -> bool:
    item = _cursor(app)
    return isinstance(item, NodeItem) and item.op_type == "Mul"


@pytest.mark.slow
async def test_l_on_graph_jumps_to_the_first_diverging_node() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await _export_on_graph(pilot, "if-instance-attr")
        app.state.run_values = {"branch_testing": True}  # as the Diff screen's knob sets it
        await pilot.press("l")
        await settle(pilot, lambda: _on_mul(app) and "first diverging" in _detail(app))
        detail = _detail(app)
        assert "first diverging node: Mul /Mul at 1" in detail
        assert "branch_testing=true" in detail
        assert "Mul  /Mul" in detail  # the node's own details follow the answer


@pytest.mark.slow
async def test_l_on_graph_of_a_preserved_branch_finds_no_divergence() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await _export_on_graph(pilot, "if-forward-arg")
        app.state.run_values = {"branch_testing": True}
        await pilot.press("l")
        await settle(pilot, lambda: "no divergence" in _detail(app))
        assert "values agree with PyTorch" in _detail(app)
        assert "first diverging" not in _detail(app)


@pytest.mark.slow
async def test_l_on_diff_after_a_fail_shows_the_node_on_graph() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.load_target(TargetSpec(variant="if-instance-attr"))
        await settle(pilot, lambda: app.state.session is not None)
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        assert "press l to locate" not in text_of(app, "#diff-status")
        app.screen.query_one("#knob-0", Switch).value = True
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("FAIL"))
        assert "press l to locate the first diverging node" in text_of(app, "#diff-status")
        await pilot.press("l")
        await settle(pilot, lambda: isinstance(app.screen, GraphScreen) and _on_mul(app))
        await settle(pilot, lambda: "first diverging" in _detail(app))
        assert "branch_testing=true" in _detail(app)
        assert app.state.onnx is not None and app.state.onnx.exporter == "script"


async def test_l_on_a_file_opened_alone_says_locate_needs_a_pytorch_model(
    tmp_path: Path,
) -> None:
    path = write_model(tmp_path)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.set_onnx(OnnxRef(str(path), path.name, None))
        await app.switch_mode("graph")
        await settle(pilot, lambda: getattr(app.screen, "model", None) is not None)
        await pilot.press("l")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("locate needs a PyTorch model" in m for m in said), said
        assert not [w for w in app.screen.running_jobs() if w.group == "graph-locate"]
