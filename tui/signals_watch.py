"""SIGTERM and SIGHUP (the SSH session went) handled on the app's event loop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

WATCHED = (signal.SIGTERM, signal.SIGHUP)


def watch(callback: Callable[[int], None]) -> list[int]:
    """Call `callback(signum)` on the running event loop for SIGTERM and SIGHUP; the
    signals actually watched (none off the main thread)."""
    loop = asyncio.get_running_loop()
    watched = []
    for signum in WATCHED:
        try:
            loop.add_signal_handler(signum, callback, int(signum))
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        watched.append(int(signum))
    return watched


def unwatch(watched: list[int]) -> None:
    """Stop watching the signals `watch` returned."""
    loop = asyncio.get_running_loop()
    for signum in watched:
        loop.remove_signal_handler(signum)
