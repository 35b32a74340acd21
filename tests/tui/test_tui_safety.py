"""User-code consent, ctrl+c cancels (never quits), quitting with a job running asks."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from cfexplore.engine.session import Session
from cfexplore.target.targets import parse_target
from cfexplore.tui.app import CfxApp
from cfexplore.tui.screens.diff import DEBOUNCE
from tests.conftest import DATA
from tests.tui_helpers import settle, text_of
from tests.worker.test_user_code import alive, expand_model, rss_mb

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


async def test_ctrl_c_cancels_a_running_diff_and_says_so() -> None:
    """A cancelled Diff run says so (it used to leave "running…" up for good)."""
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path("if-forward-arg")
        await settle(pilot, lambda: app.state.session is not None)
        await pilot.press("4")
        await settle(pilot, lambda: "PASS" in text_of(app, "#diff-status"))
        while app.state.exporter != "dynamo":  # an export of seconds, then the diff
            await pilot.press("t")
        await pilot.pause(DEBOUNCE + 0.6)
        assert "running dynamo" in text_of(app, "#diff-status")
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert app.is_running
        assert text_of(app, "#diff-status") == "cancelled"
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


async def test_opened_file_is_validated_in_a_limited_worker(tmp_path: Path) -> None:
    """A 300-byte Expand to 2^40 elements: "model too large" from the validation worker,
    the app's own memory untouched, no process left after quitting."""

    model = expand_model(tmp_path / "expand.onnx")
    before = rss_mb()
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path(str(model))
        await settle(pilot, lambda: getattr(app.screen, "validation", None) is not None)
        graph = app.screen
        res = graph.validation
        assert res.size_error is not None and res.size_error.startswith("model too large")
        assert "too large" in text_of(app, "#graph-summary")
        pid = graph._validate_client.pid
        await pilot.press("v")
        await pilot.pause()
        assert type(app.screen).__name__ == "TextScreen"
        assert "model too large" in text_of(app, "#text-body")
        await pilot.press("escape")
        await pilot.press("L")  # the validation worker is listed in the worker log
        await pilot.pause()
        assert "file worker (audit, validation)" in text_of(app, "#text-body")
        await pilot.press("escape")
        assert rss_mb() - before < 100
    assert pid is not None
    for _ in range(40):
        if not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not alive(pid)


async def test_valid_file_gets_a_valid_badge() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path("if-forward-arg")
        await settle(pilot, lambda: app.state.session is not None)
        await pilot.press("2", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        path = app.state.exports["script"].onnx_path
        copy = Path(app.state.session.client.workdir) / "copy.onnx"
        shutil.copy(path, copy)
        app.open_path(str(copy))
        await settle(pilot, lambda: getattr(app.screen, "validation", None) is not None)
        assert app.screen.validation.ok
        assert "valid ✓" in text_of(app, "#graph-summary")


async def test_worker_output_is_shown_in_the_app_not_the_terminal(tmp_path: Path) -> None:
    src = tmp_path / "printer.py"
    shutil.copy(DATA / "prints_10mb.py", src)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path(f"{src}:Net")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot, lambda: app.state.session is not None)
        await pilot.press("L")
        await pilot.pause()
        body = text_of(app, "#text-body")
        assert "PRINTED-BY-USER-CODE-fd2" in body and "target worker" in body
        await pilot.press("escape")
    assert not (tmp_path / "__pycache__").exists()


HOSTILE = {
    "exits_on_import.py": "sys.exit(3)",
    "os_exit_on_import.py": "exited with code 3",
    "raises_on_import.py": "boom at import",
    "segfaults_on_import.py": "SIGSEGV",
}


async def test_hostile_user_files_each_give_one_line(tmp_path: Path) -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        for name, expected in HOSTILE.items():
            src = tmp_path / name
            shutil.copy(DATA / name, src)
            app.open_path(f"{src}:Net")
            await pilot.pause()
            await pilot.press("y")
            await settle(
                pilot, lambda n=name: app.last_error is not None and n in app.last_error[0]
            )
            title, message, details = app.last_error
            assert expected in message, (name, message)
            assert "\n" not in message and len(message) <= 200 and "Traceback" not in message
            await pilot.press("E")  # the full text is one key away
            await pilot.pause()
            assert type(app.screen).__name__ == "TextScreen"
            await pilot.press("escape")
            assert app.is_running
        # an import that never ends: ctrl+c cancels it, the app stays
        src = tmp_path / "hangs.py"
        shutil.copy(DATA / "hangs_on_import.py", src)
        app.open_path(f"{src}:Net")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause(0.5)
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert app.is_running and app.state.session is None


async def test_app_load_timeout_kills_a_hanging_import_and_its_child(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("CFX_TEST_PIDFILE", str(pidfile))
    monkeypatch.setenv("CFX_TEST_HANG", "1")
    src = tmp_path / "spawner.py"
    shutil.copy(DATA / "spawns_child.py", src)
    app = CfxApp()
    app.state.timeout = 6
    async with app.run_test(size=SIZE) as pilot:
        app.open_path(f"{src}:Net")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot, lambda: app.last_error is not None, timeout=60)
        assert "longer than" in app.last_error[1]
        child = int(pidfile.read_text())
        for _ in range(40):
            if not alive(child):
                break
            await asyncio.sleep(0.05)
        assert not alive(child)
        assert app.is_running


async def test_ui_heartbeat_stays_live_during_jobs() -> None:
    """A 10 ms timer keeps ticking while an export and a sweep run: p99 gap < 50 ms.

    Every job runs in a worker process, and the app only waits on it from a thread; the
    event loop never blocks on one. (Absolute speeds are for the benchmarks; this checks
    that nothing in the jobs' UI path stalls the loop.)
    """
    import time

    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path("if-forward-arg")
        await settle(pilot, lambda: app.state.session is not None)
        stamps: list[float] = []
        timer = app.set_interval(0.01, lambda: stamps.append(time.perf_counter()))
        await pilot.press("2", "y", "x")  # dynamo export: the slowest
        await settle(pilot, lambda: "dynamo" in app.state.exports, timeout=180)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("s")  # sweep every knob
        await settle(pilot, timeout=180)
        timer.stop()
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    assert len(gaps) > 50
    p99 = gaps[int(len(gaps) * 0.99)]
    print(f"heartbeat p99 {p99 * 1000:.1f} ms max {gaps[-1] * 1000:.1f} ms n={len(gaps)}")
    assert p99 < 0.05, f"p99 gap {p99 * 1000:.1f} ms over {len(gaps)} ticks"


async def test_footer_shows_only_keys_that_fit_whole() -> None:
    """A narrow terminal drops the last keys (all are in `?` and the palette) instead of
    cutting one mid-word; widening brings them back."""
    from textual.widgets._footer import FooterKey

    from cfexplore.tui.widgets.footer import CfxFooter

    def shown(app: CfxApp) -> tuple[list[str], bool]:
        footer = app.screen.query_one(CfxFooter)
        keys = [k for k in footer.children if isinstance(k, FooterKey)]
        palette = next(k for k in keys if k.has_class("-command-palette"))
        visible = [k for k in keys if k.display and k is not palette]
        whole = all(k.region.right <= palette.region.x for k in visible)
        return [k.description for k in visible], whole

    app = CfxApp()
    async with app.run_test(size=(50, 20)) as pilot:
        await pilot.pause(0.3)
        narrow, whole = shown(app)
        assert whole and narrow and "Help" not in narrow
        await pilot.resize_terminal(140, 30)
        await pilot.pause(0.3)
        wide, whole = shown(app)
        assert whole and "Help" in wide and len(wide) > len(narrow)
