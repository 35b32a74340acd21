"""The CLI's answer to SIGTERM, SIGHUP and ctrl+c: stop cleanly, and never leave a worker.

The first signal raises `Stopped` (SIGINT: `KeyboardInterrupt`) in the main thread: the
running call is abandoned, every `with` block closes its worker and temp folder, and the
command exits 128 + the signal number with one line. A second signal while that cleanup
runs does not interrupt it half-way (the old way a second ctrl+c left a busy worker): it
kills every worker's process group at once, deletes their folders and exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Stopped(BaseException):
    """The process got SIGTERM or SIGHUP (a BaseException: no `except Exception` eats it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_state = {"seen": 0}


def _handler(signum: int, _frame: FrameType | None) -> None:
    _state["seen"] += 1
    if _state["seen"] == 1:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signum)
    from cfexplore.worker.client import destroy_all

    destroy_all()
    sys.stderr.write(f"cfexplore: {signal.Signals(signum).name} again: workers killed\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def install() -> dict[int, object]:
    """Route SIGTERM, SIGHUP and SIGINT to `_handler` (main thread only; a no-op elsewhere).
    Returns the handlers replaced, for `restore`."""
    _state["seen"] = 0
    old: dict[int, object] = {}
    for signum in HANDLED:
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            old[signum] = signal.signal(signum, _handler)
    return old


def restore(old: dict[int, object]) -> None:
    """Put back the handlers `install` replaced."""
    for signum, handler in old.items():
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(signum, handler)  # type: ignore[arg-type]


def exit_code(signum: int) -> int:
    return 128 + signum
