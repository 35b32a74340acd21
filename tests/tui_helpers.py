"""Helpers for driving the real app with Pilot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from textual.pilot import Pilot


async def _wait_workers(app) -> None:  # type: ignore[no-untyped-def]
    """Wait for every worker; one that failed was already shown in the app (not raised)."""
    from textual.worker import WorkerFailed

    with contextlib.suppress(WorkerFailed):
        await app.workers.wait_for_complete()


async def settle(
    pilot: Pilot, until: Callable[[], bool] | None = None, timeout: float = 60
) -> None:
    """Let workers finish and messages drain; with `until`, wait for that to hold."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await _wait_workers(app)
        await pilot.pause()
        if until is None or until():
            if until is None:
                await pilot.pause(0.05)
                await _wait_workers(app)
                await pilot.pause()
            return
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await asyncio.sleep(0.05)


def text_of(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    """Plain text of a Static-like widget on the current screen."""
    import io

    from rich.console import Console

    widget = app.screen.query_one(selector)
    content = getattr(widget, "content", None)
    if content is None or content == "":
        content = widget.render()
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(content)
    return console.export_text()
