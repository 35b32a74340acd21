"""The worker process's side: `python -m cfexplore.worker.server READ WRITE CANCEL DIR LIMIT NICE`.

It reads request objects (`worker.protocol`) from one pipe, runs each on a `Runtime` and
writes progress lines and the reply (or the error, sorted into user, cancelled, too large
and crashed) to the other. A third pipe carries cancels; a thread watches the parent and
kills the whole process group when the parent is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error
from cfexplore.worker.handlers import handle
from cfexplore.worker.limits import memory_error
from cfexplore.worker.ort import RunTerminated
from cfexplore.worker.protocol import Request, Shutdown
from cfexplore.worker.runtime import Runtime


def _serve(recv: Connection, send: Connection, cancel_fd: int, workdir: str) -> None:
    """The worker's request loop (child side)."""
    runtime = Runtime(workdir)
    send_lock = threading.Lock()

    def reply(msg: dict[str, Any]) -> None:
        with send_lock:
            send.send(msg)

    def progress(frac: float | None, message: str) -> None:
        reply({"type": "progress", "frac": frac, "message": message})

    def watch_cancel() -> None:
        """Each byte on the cancel pipe terminates the ORT runs in flight, if any."""
        while True:
            try:
                if not os.read(cancel_fd, 1):
                    return
            except OSError:
                return
            reply({"type": "cancel-ack", "soft": runtime.terminate_runs() > 0})

    threading.Thread(target=watch_cancel, name="cancel", daemon=True).start()

    while True:
        try:
            req = recv.recv()
        except (EOFError, OSError):
            return
        if isinstance(req, Shutdown) or not isinstance(req, Request):
            return
        try:
            value = handle(runtime, req, progress)
            reply({"type": "result", "value": value})
        except RunTerminated:
            reply({"type": "error", "cancelled": True, "message": "cancelled", "details": ""})
        except CfxError as exc:
            reply(
                {
                    "type": "error",
                    "user": True,
                    "message": str(exc),
                    "details": exc.details,
                    "too_large": memory_error(exc.details + str(exc)),
                }
            )
        except BaseException as exc:  # user code may raise anything, SystemExit included
            details = full_text(exc)
            reply(
                {
                    "type": "error",
                    "message": short_error(exc),
                    "details": details,
                    "etype": type(exc).__name__,
                    "too_large": isinstance(exc, MemoryError) or memory_error(details),
                }
            )


def main(argv: list[str]) -> None:
    """Child entry point:
    `python -m cfexplore.worker.server READ_FD WRITE_FD CANCEL_FD WORKDIR LIMIT NICE`."""
    limit = int(argv[5]) if len(argv) > 5 else 0
    nice = int(argv[6]) if len(argv) > 6 else 0
    if nice:
        os.nice(nice)
    if limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    recv = Connection(int(argv[1]), writable=False)
    send = Connection(int(argv[2]), readable=False)
    os.dup2(2, 1)  # user prints go to the log, never into the protocol
    _watch_parent(os.getppid())
    _serve(recv, send, int(argv[3]), argv[4])


PARENT_POLL_S = 0.5
"""How often the worker checks that the process that started it is still alive."""


def _watch_parent(parent: int) -> None:
    """Die with the parent: when the app or CLI that started this worker is gone (SIGKILL,
    SIGTERM, SIGHUP of an SSH session: no chance to close its workers), kill this worker's
    whole process group — it and any children user code started — instead of running on
    (a busy export at 100% CPU, orphaned)."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent:
                with contextlib.suppress(OSError):
                    os.killpg(os.getpgrp(), signal.SIGKILL)
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    main(sys.argv)
