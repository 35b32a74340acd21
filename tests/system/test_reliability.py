"""The reliability suite: hostile models and files (tests/hostile.py builds them here and
now) through every CLI command and through the app, each under a time bound.

Whatever the input, a run ends within its bound with exit 0, 1 or 2, at most one line on
stderr, no traceback, no worker process left running and no temp folder left behind; the
app shows one line and keeps running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import hostile
from tests.tui_helpers import settle, text_of

BOUND = 150
"""Seconds any one CLI run may take (each of these used to run for ever or crash)."""

COMMANDS = ("tree", "audit", "validate", "diff")

ORT_OWN = {".ses"}
"""What `import onnxruntime` itself writes into TMPDIR (one file, reused): not ours."""


def _marked(mark: str) -> list[int]:
    """Processes still running with our marker in their environment."""
    found = []
    needle = f"CFX_RELIABILITY={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def run_cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One CLI run with a private TMPDIR and a marker, checked for what every run owes."""
    mark, scratch = uuid.uuid4().hex, tmp / f"tmp-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "CFX_RELIABILITY": mark, "COLUMNS": "200"}
    res = subprocess.run(
        [sys.executable, "-m", "cfexplore", *args],
        capture_output=True, text=True, timeout=BOUND, env=env,
    )  # fmt: skip
    said = (res.stdout + res.stderr).lower()
    assert res.returncode in (0, 1, 2), (args, res.returncode, res.stderr[-400:])
    assert "traceback" not in said and "internal error" not in said, (args, res.stderr[-400:])
    errors = [ln for ln in res.stderr.splitlines() if ln.strip() and " warning: " not in ln]
    assert len(errors) <= 1, (args, errors)
    assert not _marked(mark), f"{args}: a worker outlived the CLI"
    left = sorted(p.name for p in scratch.iterdir() if p.name not in ORT_OWN)
    assert not left, f"{args}: left {left}"
    return res


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", sorted(hostile.BUILDERS))
def test_hostile_file_through_the_cli(tmp_path: Path, kind: str, command: str) -> None:
    path = hostile.BUILDERS[kind](tmp_path / f"{kind}.onnx")
    extra = ["--timeout", "20"] if command in ("diff", "validate") else []
    res = run_cli(tmp_path, command, str(path), *extra)
    if kind == "fifo":
        assert res.returncode == 2 and "FIFO" in res.stderr
    elif kind == "nested-ifs":
        assert res.returncode == 2 and "nested too deeply" in res.stderr
    elif kind == "endless-loop" and command == "diff":
        assert res.returncode == 1
        assert "timed out: ONNX Runtime did not finish within 20 s" in res.stdout
        assert "inputs: x: 1 float32" in res.stdout  # what was fed, still said
    elif kind == "siblings" and command == "validate":  # the full check took minutes
        assert res.returncode == 0 and "structure only: over 1,000 subgraphs" in res.stdout
    elif kind == "fanout" and command == "tree":
        assert res.returncode == 2 and "expands to over 2,000,000 nodes" in res.stderr


def test_valid_nesting_at_thirty_still_opens(tmp_path: Path) -> None:
    path = hostile.nested_ifs(tmp_path / "n30.onnx", depth=30)
    res = run_cli(tmp_path, "tree", str(path))
    assert res.returncode == 0 and res.stdout.count("then_branch") == 30


def test_user_code_writing_into_the_worker_pipe(tmp_path: Path) -> None:
    src = hostile.garbage_user(tmp_path / "garbage.py")
    res = run_cli(tmp_path, "diff", f"{src}:Net", "--exporter", "script")
    assert res.returncode == 2
    assert "user code wrote into its pipe" in res.stderr


def test_user_forward_that_never_returns(tmp_path: Path) -> None:
    src = hostile.hanging_user(tmp_path / "hangs.py")
    res = run_cli(
        tmp_path, "diff", f"{src}:Net", "--exporter", "trace", "--run", "hang=True",
        "--timeout", "30",
    )  # fmt: skip
    assert res.returncode == 1, res.stdout[-600:]
    assert "timed out: PyTorch did not finish within 30 s at hang=True" in " ".join(
        res.stdout.split()
    )


# --------------------------------------------------------------------------- the app


def _workers_of_this_process() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == os.getpid() and b"cfexplore.worker.server" in cmd:
            found.add(int(entry.name))
    return found


async def test_app_refuses_a_fifo_and_a_too_deep_file_in_one_line(tmp_path: Path) -> None:
    from cfexplore.tui.app import CfxApp

    pipe = hostile.fifo(tmp_path / "pipe.onnx")
    deep = hostile.nested_ifs(tmp_path / "deep.onnx")
    app = CfxApp()
    async with app.run_test(size=(100, 30)) as pilot:
        assert not app.open_path(str(pipe))  # refused up front, never opened
        await pilot.pause()
        assert app.state.onnx is None and app.is_running
        app.open_path(str(deep))
        await settle(pilot, lambda: app.last_error is not None)
        assert "nested too deeply" in app.last_error[1]
        assert "\n" not in app.last_error[1] and app.is_running


async def test_app_lone_file_run_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from cfexplore.tui.app import CfxApp

    path = hostile.endless_loop(tmp_path / "loop.onnx")
    before = _workers_of_this_process()
    app = CfxApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.state.timeout = 8
        assert app.open_path(str(path))
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("FAIL"), 120)
        screen = app.screen
        first = screen._file_client.pid if screen._file_client else None
        table = screen.query_one("#diff-table", DataTable)
        assert "ONNX Runtime" in str(table.get_row_at(0)[0])
        assert "timed out" in text_of(app, "#diff-status") or "failed" in str(
            table.get_row_at(0)[1]
        )
        await pilot.press("e")  # the inputs are known although the run never finished
        await settle(pilot, lambda: type(app.screen).__name__ == "InputsScreen")
        await pilot.press("escape")
        assert app.is_running and first is not None
    assert not (_workers_of_this_process() - before), "a worker outlived the app"


def test_deferred_types_merge_into_an_open_tree(tmp_path: Path) -> None:
    from cfexplore.graph.tree import OnnxTree
    from cfexplore.graph.typeinfer import IN_PROCESS_MAX_NODES, InferredTypes, infer_types
    from tests.tui.test_tui_graph import flat_model, save

    path = save(flat_model(IN_PROCESS_MAX_NODES + 1), tmp_path / "wide.onnx")
    tree = OnnxTree.open(path, infer_here_max=IN_PROCESS_MAX_NODES)
    assert tree.types_deferred
    node = list(tree.root.children())[3]
    assert "?" in str(node.detail().outputs[0].type_str())  # v4: not declared in the file
    assert tree.merge_types(infer_types(onnx_load(path)))
    assert not tree.types_deferred
    assert list(tree.root.children())[3].detail().outputs[0].type_str() == "float32[1,4]"
    garbled = OnnxTree.open(path, infer_here_max=IN_PROCESS_MAX_NODES)
    count = len(infer_types(onnx_load(path)).graphs)
    assert not garbled.merge_types(InferredTypes([b"\xff\xff not a graph"] * count))
    assert garbled.types_deferred  # still without types, still browsable
    small = save(flat_model(10), tmp_path / "small.onnx")
    assert not OnnxTree.open(small, infer_here_max=IN_PROCESS_MAX_NODES).types_deferred


def onnx_load(path: Path):  # type: ignore[no-untyped-def]
    import onnx

    return onnx.load(str(path))


async def test_app_infers_a_big_model_in_the_file_worker(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import onnx

    from cfexplore.graph.typeinfer import IN_PROCESS_MAX_NODES
    from cfexplore.tui.app import CfxApp
    from cfexplore.tui.widgets.node_detail import NodeDetailView
    from tests.tui.test_tui_graph import flat_model, save

    def trap(*args: object, **kwargs: object) -> None:
        raise AssertionError("shape inference ran in the app's process")

    path = save(flat_model(IN_PROCESS_MAX_NODES * 2), tmp_path / "wide.onnx")
    monkeypatch.setattr(onnx.shape_inference, "infer_shapes", trap)
    app = CfxApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_path(str(path))
        await settle(pilot, lambda: app.current_mode == "graph" and app.screen.model is not None)
        await pilot.press("down", "down", "down", "down")
        detail = app.screen.query_one(NodeDetailView)
        await settle(pilot, lambda: "float32[1,4]" in detail._plain.replace(" ", ""), 120)
        assert app.is_running and app.last_error is None


@pytest.mark.parametrize("kind", ["siblings", "fanout", "chain"])
async def test_app_stays_live_on_a_hostile_graph(tmp_path: Path, kind: str) -> None:
    """Open, count, audit, expand everything and browse: the UI never stops for 2 s."""
    import time

    from cfexplore.tui.app import CfxApp

    path = hostile.BUILDERS[kind](tmp_path / f"{kind}.onnx")
    app = CfxApp()
    ticks: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        timer = app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        app.open_path(str(path))
        await settle(
            pilot,
            lambda: (
                app.current_mode == "graph"
                and app.screen.audit is not None
                and "validating" not in text_of(app, "#graph-summary")
            ),
            120,
        )
        await pilot.press("e")
        await pilot.pause(1.0)
        await pilot.press("down", "right", "down", "end", "home")
        await pilot.pause(0.5)
        timer.stop()
        assert app.is_running and app.current_mode == "graph"
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    assert gaps and gaps[-1] < 2.0, f"the UI froze for {gaps[-1]:.1f} s"
