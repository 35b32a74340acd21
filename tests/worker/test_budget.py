"""A budget for untrusted graphs: models whose local functions blow up when inlined (4^25
call paths in 2 KB) or nest 1,000 calls deep are counted first, without recursion, and
`tree`, `audit`, `validate` and the app stay bounded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from cfexplore.graph.budget import MAX_CALL_DEPTH, footprint
from cfexplore.graph.items import NodeItem
from cfexplore.graph.tree import OnnxTree
from tests.hostile import chain, fanout


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfexplore", *args],
        capture_output=True,
        text=True,
        timeout=90,  # each used to run for ever
        env={**os.environ, "COLUMNS": "200"},
    )


def test_footprint_counts_without_expanding(tmp_path: Path) -> None:
    big = footprint(onnx.load(fanout(tmp_path / "f.onnx")))
    assert big.over and big.nodes == big.cap + 1 and big.call_depth == 26
    deep = footprint(onnx.load(chain(tmp_path / "c.onnx")))
    assert deep.over and deep.nodes == 1001 and deep.call_depth == 1000
    small = footprint(onnx.load(fanout(tmp_path / "s.onnx", n=4)))
    assert not small.over and small.nodes == 1 + 4 + 16 + 64 + 64


def test_tree_refuses_to_print_the_blow_up_in_one_line(tmp_path: Path) -> None:
    path = fanout(tmp_path / "f.onnx")
    res = cli("tree", str(path))
    assert res.returncode == 2 and res.stdout == ""
    assert "over 2,000,000 nodes" in res.stderr and "--depth" in res.stderr
    assert "Traceback" not in res.stderr
    part = cli("tree", str(path), "--depth", "2")
    assert part.returncode == 0 and 0 < part.stdout.count("\n") < 100


def test_audit_and_validate_finish_on_the_blow_up(tmp_path: Path) -> None:
    path = fanout(tmp_path / "f.onnx")
    audit = cli("audit", str(path), "--json")
    assert audit.returncode in (0, 1), audit.stderr
    valid = cli("validate", str(path), "--json")
    assert valid.returncode == 1, valid.stderr
    assert '"full_check": false' in valid.stdout and "2,000,000 nodes" in valid.stdout


def test_a_1000_deep_call_chain_opens_and_prints(tmp_path: Path) -> None:
    path = chain(tmp_path / "c.onnx")
    tree = OnnxTree.open(path)
    item = tree.root
    for _ in range(MAX_CALL_DEPTH):  # down the chain of inlined calls
        node = item.child(0)
        assert isinstance(node, NodeItem) and node.inlines_body
        item = node.child(node._child_keys()[-1])
    last = item.child(0)
    assert isinstance(last, NodeItem) and last.is_too_deep_call and not last.has_children
    assert "not inlined" in last.plain_label()
    res = cli("tree", str(path))
    assert res.returncode == 0 and "RecursionError" not in res.stderr, res.stderr
    assert "internal error" not in res.stderr
    assert cli("audit", str(path)).returncode in (0, 1)


@pytest.mark.parametrize("build", [fanout, chain])
async def test_the_app_stays_responsive(tmp_path: Path, build: object) -> None:
    import time

    from cfexplore.tui.app import CfxApp

    path = build(tmp_path / "m.onnx")  # type: ignore[operator]
    app = CfxApp()
    ticks: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        timer = app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        app.open_path(str(path))
        for _ in range(400):
            await pilot.pause(0.05)
            if app.current_mode == "graph":
                summary = str(app.screen.query_one("#graph-summary").render())
                if "If 0" in summary:
                    break
        await pilot.press("e")  # expand every path to control flow: none here, found fast
        await pilot.pause(1.0)
        await pilot.press("down", "right", "down")
        await pilot.pause(0.5)
        timer.stop()
        assert app.current_mode == "graph"
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    assert gaps and gaps[-1] < 2.0, f"the UI froze for {gaps[-1]:.1f} s"
