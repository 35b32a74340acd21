"""Browse the generated model in the real app (Pilot), in a fresh process; print JSON.

`python -m benchmarks.browse FILE.onnx --scale S --keys N [--profile OUT]` opens FILE in
the Graph screen, reveals the wide then_branch, expands it, walks N rows down in it and
prints timings and this process's peak RSS as one JSON object. The `onnx.load` floor runs
with `--floor`: it only loads the file (for the RSS floor) and times that.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from benchmarks.common import percentile, vm_hwm_mib
from benchmarks.genmodel import layout

SIZE = (80, 24)


async def frame(pilot: Any, rounds: int = 3) -> None:
    """Drain the messages a key or an event caused, then draw one frame now.

    Pilot's `press` also waits for the process to look idle (>= 2 x 20 ms per key); this
    measures the app's own work instead.
    """
    for _ in range(rounds):
        await pilot._wait_for_screen()
    pilot.app.screen._on_timer_update()


async def until(pilot: Any, cond: Any, timeout: float = 300, step: float = 0.002) -> None:
    """Poll `cond()` every `step` seconds while the app runs."""
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        # as Pilot.pause does: a bare sleep never runs the screen's after-refresh callbacks
        # in a headless app (the debounce of a Diff edit would not fire)
        await frame(pilot, 1)
        await asyncio.sleep(step)


async def send_key(pilot: Any, key: str) -> None:
    """Post one key to the app as the terminal driver would (no Pilot idle wait)."""
    from textual import events

    event = events.Key(key, None)
    event.set_sender(pilot.app)
    pilot.app._driver.send_message(event)
    await frame(pilot)


async def browse(path: str, scale: float, keys: int) -> dict[str, Any]:
    """Open, expand the wide body, walk it: timings in ms."""
    from cfexplore.tui.app import CfxApp
    from cfexplore.tui.screens.graph import GraphScreen
    from cfexplore.tui.widgets.onnx_tree import OnnxTreeView

    lay = layout(scale)
    app = CfxApp()
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        app.open_path(path)
        await until(
            pilot,
            lambda: isinstance(app.screen, GraphScreen) and bool(app.screen.query(OnnxTreeView)),
        )
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        view = screen.query_one(OnnxTreeView)
        await until(pilot, lambda: screen.model is not None and not view.loading)
        await frame(pilot)
        out["open_ms"] = (time.perf_counter() - start) * 1000
        out["rows_after_open"] = view.row_count
        assert screen.show_path(lay.wide_path), "no then_branch row"
        await frame(pilot)
        node = view.cursor_node
        assert node is not None and not node.is_expanded
        start = time.perf_counter()
        await send_key(pilot, "right")
        await until(pilot, lambda: node.is_expanded and len(node.children) > 1)
        await frame(pilot)
        out["expand_ms"] = (time.perf_counter() - start) * 1000
        out["wide_children"] = lay.wide
        out["rows_after_expand"] = len(node.children)
        await send_key(pilot, "right")  # onto the first child of the body
        samples = []
        for _ in range(keys):
            before = view.cursor_line
            start = time.perf_counter()
            await send_key(pilot, "down")
            await until(pilot, lambda before=before: view.cursor_line != before, 30)
            samples.append((time.perf_counter() - start) * 1000)
        out["key_ms"] = samples
        out["key_mean_ms"] = sum(samples) / len(samples) if samples else None
        out["key_p99_ms"] = percentile(samples, 99)
        out["key_max_ms"] = max(samples) if samples else None
        item = view.highlighted_item
        out["cursor_path"] = list(item.path) if item is not None else None
        out["peak_rss_mib"] = vm_hwm_mib()
        await app.action_quit()
    return out


def floor(path: str, repeats: int) -> dict[str, Any]:
    """`onnx.load` of the file: median time, and this process's peak RSS (one model held)."""
    import statistics

    import onnx

    samples = []
    model = None
    for _ in range(repeats):
        model = None  # drop the previous copy first: RSS holds one model at a time
        start = time.perf_counter()
        model = onnx.load(path)
        samples.append((time.perf_counter() - start) * 1000)
    assert model is not None
    return {"load_ms": statistics.median(samples), "peak_rss_mib": vm_hwm_mib()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--floor", action="store_true", help="only onnx.load the file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", metavar="OUT", help="write cProfile stats of the browse")
    args = parser.parse_args(argv)
    if args.floor:
        result = floor(args.file, args.repeats)
    elif args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
        result = asyncio.run(browse(args.file, args.scale, args.keys))
        prof.disable()
        prof.dump_stats(args.profile)
    else:
        result = asyncio.run(browse(args.file, args.scale, args.keys))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
