"""User-code consent, ctrl+c cancels (never quits), quitting with a job running asks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cfexplore.engine import Session
from cfexplore.targets import parse_target
from cfexplore.tui.app import CfxApp

from .conftest import DATA
from .tui_helpers import settle, text_of

SIZE = (100, 30)


async def test_user_file_needs_consent_keyed_on_hash(tmp_path: Path) -> None:
    src = tmp_path / "model.py"
    shutil.copy(DATA / "user_model.py", src)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path(f"{src}:UserNet")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await settle(pilot)
        assert app.state.session is None
        app.open_path(f"{src}:UserNet")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot, lambda: app.state.session is not None)
        assert {k.name for k in app.state.info.knobs} == {"use_relu", "repeats", "double"}
        app.open_path(f"{src}:UserNet")  # same file, same hash: no question
        await pilot.pause()
        assert type(app.screen).__name__ != "ConfirmScreen"
        await settle(pilot)
        src.write_text(src.read_text() + "\n# changed\n")
        app.open_path(f"{src}:UserNet")  # changed file: asks again
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("escape")
    assert not (tmp_path / "__pycache__").exists()


def test_worker_import_leaves_no_pycache(tmp_path: Path) -> None:
    shutil.copy(DATA / "user_model.py", tmp_path / "m.py")
    with Session.open(parse_target(f"{tmp_path / 'm.py'}:UserNet")) as session:
        assert session.info.class_name == "UserNet"
    assert not (tmp_path / "__pycache__").exists()


async def test_ctrl_c_cancels_a_running_export_and_never_quits() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c")  # nothing running: a hint, still running
        await pilot.pause()
        assert app.is_running
        app.open_path("if-torch-cond")
        await settle(pilot, lambda: app.state.session is not None)
        await pilot.press("2", "y", "x")
        await pilot.pause(0.2)
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert app.is_running
        assert "cancelled" in text_of(app, "#run-status")
        assert "dynamo" not in app.state.exports


async def test_quit_with_a_job_running_asks_and_kills_the_worker() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path("if-torch-cond")
        await settle(pilot, lambda: app.state.session is not None)
        pid = app.state.session.client.pid
        await pilot.press("2", "y", "x")
        await pilot.pause(0.1)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        if type(app.screen).__name__ == "ConfirmScreen":  # the export may have finished
            await pilot.press("y")
        await pilot.pause(0.5)
    assert pid is not None
    try:
        os.kill(pid, 0)
        os.waitpid(pid, os.WNOHANG)
        alive = (
            Path(f"/proc/{pid}").exists()
            and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
        )
    except (ProcessLookupError, ChildProcessError):
        alive = False
    assert not alive
