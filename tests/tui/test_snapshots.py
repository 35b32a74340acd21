"""SVG snapshots of every screen at 80x24, 140x40 and 60x20 (pytest-textual-snapshot).

State goes in through the app's own API (a posted TargetLoaded, set_onnx, a posted MatrixDone,
key presses) with a `FixedSession` from `snapshot_fixtures` answering the screens' own export,
diff and sweep workers: no worker process, no timings, no absolute paths, no toasts. Update
with `pytest tests/tui/test_snapshots.py --snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Switch

from cfexplore.tui.app import CfxApp
from cfexplore.tui.messages import OnnxRef, TargetLoaded
from cfexplore.tui.screens.diff import DEBOUNCE
from cfexplore.tui.screens.graph import DETAIL_DELAY
from cfexplore.tui.screens.matrix import MatrixDone
from cfexplore.tui.widgets.node_detail import NodeDetailView
from tests.snapshot_fixtures import FixedSession, fixed_matrix, write_model
from tests.tui_helpers import settle, text_of

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot], Awaitable[None]]

SIZES = pytest.mark.parametrize(
    "size", [(80, 24), (140, 40), (60, 20)], ids=lambda size: f"{size[0]}x{size[1]}"
)


async def finish(pilot: Pilot) -> None:
    """Let everything settle, then drop any toast so only the screen is in the picture."""
    app = pilot.app
    await settle(pilot)
    await pilot.pause(DEBOUNCE + 0.1)  # no debounced re-run may still be pending
    await settle(pilot)
    app.clear_notifications()
    await pilot.pause()


async def load_fixed(pilot: Pilot, variant: str) -> FixedSession:
    """Make `variant` the loaded target, as the load worker would (but with fixed answers)."""
    app = pilot.app
    assert isinstance(app, CfxApp)
    session = FixedSession(variant)
    app.post_message(TargetLoaded(session))
    await settle(pilot, lambda: app.state.session is session)
    return session


def snap(snap_compare: SnapCompare, size: tuple[int, int], run_before: RunBefore) -> None:
    """Run a fresh app to `run_before`'s state and compare it with the stored SVG."""
    assert snap_compare(CfxApp(), terminal_size=size, run_before=run_before)


@SIZES
def test_variants(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Variants: if-forward-arg highlighted and loaded, its source and knob on the right."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        table = app.screen.query_one("#variants-table", DataTable)
        row = next(i for i, key in enumerate(table.rows) if key.value == "if-forward-arg")
        table.move_cursor(row=row)
        await load_fixed(pilot, "if-forward-arg")
        await settle(pilot, lambda: "IfForwardArg" in text_of(app, "#source-view"))
        await finish(pilot)

    snap(snap_compare, size, run_before)


@SIZES
def test_export_ok(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Export: a successful script export (If kept, knob an ONNX input, warnings)."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await load_fixed(pilot, "if-forward-arg")
        await pilot.press("2", "s", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        await finish(pilot)

    snap(snap_compare, size, run_before)


@SIZES
def test_export_failed(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Export: script cannot compile a plain class attribute; the one-line error shows."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await load_fixed(pilot, "if-class-attr")
        await pilot.press("2", "s", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        assert not app.state.exports["script"].ok
        await finish(pilot)

    snap(snap_compare, size, run_before)


@SIZES
def test_graph(snap_compare: SnapCompare, size: tuple[int, int], tmp_path: Path) -> None:
    """Graph: the If `[/model/If]` expanded (then_branch open too), its details beside."""
    path = write_model(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, CfxApp)
        app.set_onnx(OnnxRef(str(path), path.name, None))
        await app.switch_mode("graph")
        await settle(pilot, lambda: getattr(app.screen, "model", None) is not None)
        await pilot.press("n", "enter")  # to the If, expand it: then_branch, else_branch
        await settle(pilot)
        await pilot.press("down", "right", "up")  # open then_branch, back to the If
        await settle(pilot)
        await pilot.pause(DETAIL_DELAY + 0.1)  # the detail pane is debounced
        detail = app.screen.query_one(NodeDetailView)
        await settle(pilot, lambda: "[/model/If]" in detail.plain_text)
        await finish(pilot)

    snap(snap_compare, size, run_before)


@SIZES
def test_diff(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Diff: instance attribute flipped after export: FAIL, chart, hint, frozen verdict."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await load_fixed(pilot, "if-instance-attr")
        await pilot.press("4")
        # the screen exports and diffs on its own, DEBOUNCE seconds after the target shows
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        app.screen.query_one("#knob-0", Switch).value = True
        await settle(pilot, lambda: "branch_testing=true" in text_of(app, "#diff-status"))
        await pilot.press("s")
        await settle(pilot, lambda: "frozen" in text_of(app, "#verdict-view"))
        await finish(pilot)
        assert text_of(app, "#diff-status").startswith("FAIL")

    snap(snap_compare, size, run_before)


@SIZES
def test_matrix(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Matrix: the filled seed table; the cursor cell (script · If · class attr) explained."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await pilot.press("5")
        await settle(pilot)
        app.screen.post_message(MatrixDone(fixed_matrix()))
        await settle(pilot, lambda: getattr(app.screen, "report", None) is not None)
        await settle(pilot, lambda: "IfClassAttr" in text_of(app, "#matrix-cell"))
        await finish(pilot)

    snap(snap_compare, size, run_before)


@SIZES
def test_help(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Help: the modal over the Export screen (its keys, then the app-wide ones)."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await pilot.press("2", "question_mark")
        await settle(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        await finish(pilot)

    snap(snap_compare, size, run_before)


@SIZES
def test_inputs_editor(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The inputs editor of a lone .onnx file: silero-vad's declared inputs, `sr` set, one
    symbolic dim, a settings error shown in the dialog."""
    from cfexplore.target.feeds import FeedPlan, GraphInput
    from cfexplore.tui.screens.diff_inputs import file_dialog

    declared = [
        GraphInput("input", "float32", ("batch", None)),
        GraphInput("state", "float32", (2, "batch", 128)),
        GraphInput("sr", "int64", ()),
    ]

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await pilot.pause()
        app.push_screen(file_dialog("silero_vad.onnx", declared, FeedPlan({}, {"sr": "16000"})))
        await settle(pilot, lambda: type(app.screen).__name__ == "InputsScreen")
        await pilot.press("down", *"1x2", "enter")  # state: 2 dims for 3
        await settle(pilot, lambda: "dims given" in text_of(app, "#inputs-error"))
        await finish(pilot)

    snap(snap_compare, size, run_before)
