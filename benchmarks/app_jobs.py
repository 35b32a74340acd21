"""In-app measurements with Pilot: a seed change in the Diff screen, and the UI heartbeat
while a long job runs in the worker process."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import numpy as np

from benchmarks.browse import frame, until
from benchmarks.common import percentile, vm_hwm_mib

VARIANT = "seed-if-forward-arg"
"""The full-size seed model (1x3x256x256 input): a seed change costs a real forward, so the
ratio measures cfexplore's overhead, not a 0.2 ms toy run against process round trips."""
SIZE = (100, 30)
WARMUP = 10
"""The first ~8 torch forwards of a process take ~30 ms, then ~0.2 ms: warm both sides."""


def _plain(widget: Any) -> str:
    return str(widget.render())


async def _loaded_diff_screen(app: Any, pilot: Any) -> Any:
    """Load VARIANT, show the Diff screen and wait for its first diff (export included)."""
    from textual.widgets import Static

    from cfexplore.spec import TargetSpec
    from cfexplore.tui.screens.diff import DiffScreen

    await pilot.pause()
    app.load_target(TargetSpec(variant=VARIANT))
    await until(pilot, lambda: app.state.session is not None, 300, 0.02)
    await app.switch_mode("diff")
    screen = app.screen
    assert isinstance(screen, DiffScreen)
    status = screen.query_one("#diff-status", Static)
    await until(pilot, lambda: _plain(status).startswith(("PASS", "FAIL")), 300, 0.02)
    return screen


async def _diff_seed(repeats: int) -> dict[str, Any]:
    from textual.widgets import Input, Static

    from cfexplore.settings import RunSettings
    from cfexplore.tui.app import CfxApp
    from cfexplore.tui.screens.diff import DEBOUNCE

    app = CfxApp()
    out: dict[str, Any] = {"variant": VARIANT, "debounce_ms": DEBOUNCE * 1000}
    async with app.run_test(size=SIZE) as pilot:
        screen = await _loaded_diff_screen(app, pilot)
        session = app.state.session
        exporter = app.state.exporter
        status = screen.query_one("#diff-status", Static)
        seed_box = screen.query_one("#seed", Input)
        for i in range(WARMUP):  # the first torch forwards of a process are slow
            session.diff(exporter, RunSettings(seed=1000 + i, values=screen.knob_values()))
        before = session.stats()
        samples = []
        seed_box.value = "100"
        await until(pilot, lambda: " seed 100 " in _plain(status) + " ")
        screen.query_one("#diff-table").focus()
        for i in range(repeats):
            seed = 101 + i
            start = time.perf_counter()
            screen.action_step_seed(1)  # the `]` key: next seed, run at once
            # wait as an idle terminal would: sleeping, not drawing frames to poll (that
            # would take CPU from the worker); then the one frame that shows the table
            while f" seed {seed} " not in _plain(status) + " ":
                await asyncio.sleep(0.002)
            await frame(pilot)
            samples.append(time.perf_counter() - start)
        after = session.stats()
        # the same diff through the engine alone (no UI, no debounce): where the rest goes
        engine = []
        parts: dict[str, list[float]] = {"torch_ms": [], "onnx_ms": [], "reference_ms": []}
        for i in range(repeats):
            start = time.perf_counter()
            res = session.diff(exporter, RunSettings(seed=201 + i, values=screen.knob_values()))
            engine.append(time.perf_counter() - start)
            for key, values in parts.items():
                values.append(float(getattr(res, key) or 0.0))
        out.update(
            seconds=statistics.median(samples),
            samples=samples,
            engine_diff_s=statistics.median(engine),
            breakdown_ms={k: statistics.median(v) for k, v in parts.items()},
            stats_before=before,
            stats_after=after,
            rebuilt=any(after[k] != before[k] for k in ("loads", "module_builds", "sessions")),
            worker_rss_mib=vm_hwm_mib(session.client.pid),
            onnx_path=session.exports[exporter].onnx_path,
        )
        out["floor_s"], out["floor_rss_mib"] = _raw_floor_fresh(out["onnx_path"], repeats)
        await app.action_quit()
    return out


def _raw_floor_fresh(onnx_path: str, repeats: int) -> tuple[float, float | None]:
    """`_raw_floor` in a fresh process, with the thread settings that make it fastest
    (OpenMP threads sleep when idle, ORT pool does not spin: torch and ORT alternate on
    the same two cores): the strictest floor, not one slowed by this process's state."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    code = (
        "import json, sys; from benchmarks.app_jobs import _raw_floor; "
        "print(json.dumps(_raw_floor(sys.argv[1], int(sys.argv[2]))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, onnx_path, str(repeats)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    seconds, rss = json.loads(run.stdout.strip().splitlines()[-1])
    return seconds, rss


def _raw_floor(onnx_path: str, repeats: int) -> tuple[float, float | None]:
    """One raw torch forward + one raw ORT `session.run` on the same inputs (in process)."""
    import importlib

    import onnxruntime as ort
    import torch

    from cfexplore.models import VARIANTS
    from cfexplore.target.inputs import make_inputs
    from cfexplore.worker.loading import MODEL_SEED

    variant = VARIANTS[VARIANT]
    mod_name, _, attr = variant.factory.partition(":")
    torch.manual_seed(MODEL_SEED)
    module = getattr(importlib.import_module(mod_name), attr)(**variant.init).eval()
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    samples = []
    for i in range(WARMUP + max(repeats, 5)):
        data = make_inputs(list(VARIANTS[VARIANT].inputs), 101 + i)
        feeds = {}
        for inp in sess.get_inputs():
            if inp.name in data:
                feeds[inp.name] = data[inp.name]
            else:
                feeds[inp.name] = np.array(
                    False, dtype=np.bool_ if "bool" in inp.type else np.int64
                )
        start = time.perf_counter()
        with torch.no_grad():
            module(False, torch.from_numpy(data["x"]))
        sess.run(None, feeds)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples[WARMUP:]), vm_hwm_mib()


def diff_seed(repeats: int) -> dict[str, Any]:
    """Seed change -> updated Diff table, and its raw torch + ORT floor."""
    return asyncio.run(_diff_seed(repeats))


async def _heartbeat(seconds: float) -> dict[str, Any]:
    from cfexplore.tui.app import CfxApp
    from cfexplore.tui.screens.matrix import MatrixScreen

    app = CfxApp()
    ticks: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.switch_mode("matrix")
        screen = app.screen
        assert isinstance(screen, MatrixScreen)
        timer = app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        await pilot.press("r")  # the seed table: loads, exports and sweeps in the worker
        start = time.perf_counter()
        await until(pilot, lambda: time.perf_counter() - start > seconds, seconds + 60, 0.05)
        running = bool(screen.running_jobs())
        timer.stop()
        screen.cancel_job()
        await until(pilot, lambda: not screen.running_jobs(), 60, 0.05)
        await app.action_quit()
    window = [t for t in ticks if t >= start]
    gaps = [(b - a) * 1000 for a, b in zip(window, window[1:], strict=False)]
    return {
        "job": "Matrix run (r): loads, exports and sweeps in the worker",
        "job_still_running": running,
        "ticks": len(window),
        "p50_ms": percentile(gaps, 50),
        "p99_ms": percentile(gaps, 99),
        "max_ms": max(gaps) if gaps else None,
        "rss_mib": vm_hwm_mib(),
    }


async def _open_heartbeat(path: str, settle_s: float) -> dict[str, Any]:
    """In the app: open `path` (Graph screen) once the background imports are done, until
    the tree shows, the counts and audit are in, and `settle_s` more; 10 ms timer gaps."""
    from cfexplore.tui.app import CfxApp
    from cfexplore.tui.screens.graph import GraphScreen

    app = CfxApp()
    ticks: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await asyncio.sleep(2.0)  # the preload thread: its imports are measured elsewhere
        timer = app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        await asyncio.sleep(0.1)
        start = time.perf_counter()
        app.open_path(path)
        await until(
            pilot,
            lambda: isinstance(app.screen, GraphScreen) and app.screen.model is not None,
            300,
            0.01,
        )
        shown = time.perf_counter() - start
        screen = app.screen
        await until(pilot, lambda: "counting" not in screen._summary_text.plain, 300, 0.01)
        audited = time.perf_counter() - start
        await asyncio.sleep(settle_s)
        timer.stop()
        await app.action_quit()
    window = [t for t in ticks if t >= start]
    gaps = [(b - a) * 1000 for a, b in zip(window, window[1:], strict=False)]
    return {
        "shown_s": shown,
        "audited_s": audited,
        "ticks": len(window),
        "p99_ms": percentile(gaps, 99),
        "max_ms": max(gaps) if gaps else None,
    }


def open_heartbeat(path: str, settle_s: float = 1.0) -> dict[str, Any]:
    """`_open_heartbeat` in a fresh interpreter."""
    import json
    import subprocess
    import sys

    code = (
        "import asyncio, json; from benchmarks.app_jobs import _open_heartbeat; "
        f"print(json.dumps(asyncio.run(_open_heartbeat({path!r}, {settle_s!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def heartbeat(seconds: float) -> dict[str, Any]:
    """Gaps between 10 ms timer ticks in the app while the Matrix job runs."""
    return asyncio.run(_heartbeat(seconds))


SWITCH = ("if-forward-arg", "loop-forward-arg")
"""Two small built-in variants the switch alternates between (load, then one export)."""


async def _variant_switch(repeats: int) -> dict[str, Any]:
    from cfexplore.spec import TargetSpec
    from cfexplore.tui.app import CfxApp

    app = CfxApp()
    switches: list[float] = []
    exports: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for i in range(repeats + 1):
            name = SWITCH[i % 2]
            old = app.state.session
            start = time.perf_counter()
            app.load_target(TargetSpec(variant=name))
            await until(pilot, lambda old=old: app.state.session is not old, 300, 0.002)
            if i:  # the first load starts the worker and imports torch: not a switch
                switches.append(time.perf_counter() - start)
            session = app.state.session
            start = time.perf_counter()
            result = await asyncio.to_thread(session.export, "script")
            assert result.ok, result.error
            exports.append(time.perf_counter() - start)
        loads = app.state.session.stats()["loads"]
        pid = app.state.session.client.pid
        await app.action_quit()
    return {
        "switch_s": statistics.median(switches),
        "export_s": statistics.median(exports[1:]),
        "loads_in_one_worker": loads,
        "worker_pid": pid,
        "n": repeats,
    }


def variant_switch(repeats: int) -> dict[str, Any]:
    """Built-in variant switch in the app -> loaded, against one script export's time."""
    return asyncio.run(_variant_switch(repeats))


async def _first_visits(seconds: float) -> dict[str, Any]:
    """In a fresh process: screens 2-5 visited right after the first paint, then a load
    and a switch between built-in variants; gaps of a 10 ms timer throughout."""
    from cfexplore.spec import TargetSpec
    from cfexplore.tui.app import CfxApp

    app = CfxApp()
    ticks: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        timer = app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        await pilot.pause()
        start = time.perf_counter()
        for key in "2345":
            await pilot.press(key)
            await asyncio.sleep(0.25)
        await until(pilot, lambda: app.current_mode == "matrix", 60, 0.01)
        visits = time.perf_counter() - start
        mark = time.perf_counter()
        for name in ("if-forward-arg", "loop-forward-arg"):
            old = app.state.session
            app.load_target(TargetSpec(variant=name))
            await until(pilot, lambda old=old: app.state.session is not old, 300, 0.01)
        await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - start)))
        timer.stop()
        await app.action_quit()

    def gaps(lo: float, hi: float) -> list[float]:
        window = [t for t in ticks if lo <= t <= hi]
        return [(b - a) * 1000 for a, b in zip(window, window[1:], strict=False)]

    visit_gaps, load_gaps = gaps(start, mark), gaps(mark, float("inf"))
    return {
        "visits_s": visits,
        "visit_p99_ms": percentile(visit_gaps, 99),
        "visit_max_ms": max(visit_gaps) if visit_gaps else None,
        "load_p99_ms": percentile(load_gaps, 99),
        "load_max_ms": max(load_gaps) if load_gaps else None,
        "ticks": len(visit_gaps) + len(load_gaps),
    }


def first_visits(seconds: float) -> dict[str, Any]:
    """`_first_visits` in a fresh interpreter (nothing of the screens imported yet)."""
    import json
    import subprocess
    import sys

    code = (
        "import asyncio, json; from benchmarks.app_jobs import _first_visits; "
        f"print(json.dumps(asyncio.run(_first_visits({seconds!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    import json

    print(json.dumps(diff_seed(3), indent=1, default=str))
    print(json.dumps(heartbeat(3), indent=1, default=str))
