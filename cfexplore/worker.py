"""The worker process that holds user code, the torch module and ORT sessions.

User model code and exports never run in the process that draws the UI: an import that
calls `sys.exit`, segfaults or loops forever must leave the app alive, and a thread
cannot be cancelled. `WorkerClient` starts `python -m cfexplore.worker` in its own
process group and talks to it with small pickled request/response messages over two
pipes; cancelling kills the whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cfexplore.errors import Cancelled, CfxError, TimedOut, WorkerCrashed, WorkerError

Progress = Callable[[float | None, str], None]


class WorkerClient:
    """Parent side: start, call, cancel and stop one worker process.

    One call runs at a time (a lock serialises callers). `progress(frac, message)` is called
    from the calling thread as the worker reports; `cancel` (a threading.Event) kills the
    worker as soon as it is set, raising `Cancelled`.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None
        self._lock = threading.Lock()
        self.workdir = tempfile.mkdtemp(prefix="cfexplore-")
        self._log_path = Path(self.workdir) / "worker.log"
        self.starts = 0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start the process if it is not running."""
        if self.alive:
            return
        self._cleanup()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # no __pycache__ in the user's folder; prints and warnings go to the worker log
        env = dict(
            os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1"
        )
        try:
            with open(self._log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "cfexplore.worker",
                        str(to_child_r),
                        str(from_child_w),
                        self.workdir,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=(to_child_r, from_child_w),
                    start_new_session=True,
                    env=env,
                )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self.starts += 1

    def call(
        self,
        op: str,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send one request and wait for its result, forwarding progress messages."""
        with self._lock:
            self.start()
            assert self._send and self._recv
            try:
                self._send.send({"op": op, **kwargs})
            except (BrokenPipeError, OSError) as exc:
                raise self._crashed(op) from exc
            deadline = time.monotonic() + timeout if timeout else None
            while True:
                if cancel is not None and cancel.is_set():
                    self.kill()
                    raise Cancelled(f"{op} cancelled")
                if deadline is not None and time.monotonic() > deadline:
                    self.kill()
                    raise TimedOut(f"{op} took longer than {timeout:g}s and was stopped")
                try:
                    ready = self._recv.poll(0.05)
                    if not ready:
                        if not self.alive:
                            raise self._crashed(op)
                        continue
                    msg = self._recv.recv()
                except (EOFError, OSError) as exc:
                    raise self._crashed(op) from exc
                kind = msg.get("type")
                if kind == "progress":
                    if progress is not None:
                        progress(msg.get("frac"), msg.get("message", ""))
                elif kind == "result":
                    return msg.get("value")
                elif kind == "error":
                    if msg.get("user"):
                        raise CfxError(msg["message"], msg.get("details", ""))
                    raise WorkerError(msg["message"], msg.get("details", ""), msg.get("etype", ""))

    def _crashed(self, op: str) -> WorkerCrashed:
        """Reap the dead worker and describe how it died, with the tail of its log."""
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.kill()
                code = self._proc.returncode if self._proc else None
        log = self.log_tail()
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        last = next((ln for ln in reversed(log.splitlines()) if ln.strip()), "")
        self._cleanup()
        msg = f"worker process {how} during {op}"
        if last:
            msg += f": {last.strip()[:160]}"
        return WorkerCrashed(msg, log or msg)

    def log_tail(self, limit: int = 20000) -> str:
        """The last `limit` bytes the worker wrote to stdout/stderr."""
        try:
            with open(self._log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - limit))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """Kill the worker's whole process group at once (cancel)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        for conn in (self._send, self._recv):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        self._send = self._recv = None
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None

    def close(self) -> None:
        """Stop the worker (politely, then by force) and delete its folder."""
        if self.alive and self._send is not None:
            try:
                self._send.send({"op": "shutdown"})
                assert self._proc is not None
                self._proc.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired, AssertionError):
                pass
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(recv: Connection, send: Connection, workdir: str) -> None:
    """The worker's request loop (child side)."""
    from cfexplore.errortext import full_text, short_error
    from cfexplore.runtime import Runtime

    runtime = Runtime(workdir)

    def progress(frac: float | None, message: str) -> None:
        send.send({"type": "progress", "frac": frac, "message": message})

    while True:
        try:
            req = recv.recv()
        except (EOFError, OSError):
            return
        op = req.pop("op")
        if op == "shutdown":
            return
        try:
            if op == "ping":
                value: Any = os.getpid()
            elif op == "stats":
                value = dict(runtime.stats)
            elif op == "load":
                value = runtime.load(req["spec"], progress)
            elif op == "export":
                value = runtime.export(req["exporter"], req["opset"], req.get("values"), progress)
            elif op == "diff":
                value = runtime.diff(
                    req["exporter"],
                    req["seed"],
                    req.get("values"),
                    req["rtol"],
                    req["atol"],
                    req.get("reference"),
                    req.get("equal_nan", False),
                )
            elif op == "run_onnx":
                value = runtime.run_onnx(req["path"], req.get("feeds"), req.get("seed", 0))
            elif op == "sweep":
                value = runtime.sweep(
                    req["exporter"],
                    req["knob"],
                    req["seed"],
                    req["rtol"],
                    req["atol"],
                    req.get("reference"),
                    req.get("equal_nan", False),
                )
            else:
                raise CfxError(f"unknown worker request {op!r}")
            send.send({"type": "result", "value": value})
        except CfxError as exc:
            send.send({"type": "error", "user": True, "message": str(exc), "details": exc.details})
        except BaseException as exc:  # user code may raise anything, SystemExit included
            send.send(
                {
                    "type": "error",
                    "message": short_error(exc),
                    "details": full_text(exc),
                    "etype": type(exc).__name__,
                }
            )


def main(argv: list[str]) -> None:
    """Child entry point: `python -m cfexplore.worker READ_FD WRITE_FD WORKDIR`."""
    recv = Connection(int(argv[1]), writable=False)
    send = Connection(int(argv[2]), readable=False)
    os.dup2(2, 1)  # user prints go to the log, never into the protocol
    _serve(recv, send, argv[3])


if __name__ == "__main__":
    main(sys.argv)
