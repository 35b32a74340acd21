"""The worker process that holds user code, the torch module and ORT sessions.

User model code and exports never run in the process that draws the UI: an import that
calls `sys.exit`, segfaults or loops forever must leave the app alive, and a thread
cannot be cancelled. `WorkerClient` starts `python -m cfexplore.worker.server` in its own
process group and talks to it with small pickled request/response messages over two
pipes; cancelling kills the whole process group.

Cancel first asks politely through a third pipe: a worker inside an ONNX Runtime run sets
`RunOptions.terminate` and answers "cancelled" while keeping its loaded module and
sessions. Otherwise (or if it does not answer within `SOFT_CANCEL_S`) the process group gets
SIGTERM, then SIGKILL after `KILL_GRACE_S`. A worker for untrusted .onnx files runs under an
address-space limit (`memory_limit`), so a model that asks for a huge buffer fails with
"model too large" instead of taking the machine's memory.
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
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar, cast

from cfexplore.errors import Cancelled, CfxError, TimedOut, WorkerCrashed, WorkerError
from cfexplore.worker.limits import too_large_message
from cfexplore.worker.protocol import Request, Shutdown

Progress = Callable[[float | None, str], None]
R = TypeVar("R")

SOFT_CANCEL_S = 1.5
"""How long a worker inside an ORT run may take to stop after `RunOptions.terminate`."""
KILL_GRACE_S = 5.0
"""How long the process group has between SIGTERM and SIGKILL."""


WORKDIR_PREFIX = "cfexplore-"
OWNER_FILE = "owner.pid"
"""In each worker folder: the pid of the process that made it (the app or the CLI)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_cleaned = False
"""Whether this process has swept the temp folder for stale worker folders yet."""


def clean_stale_workdirs(tmp: str | None = None) -> list[Path]:
    """Remove worker folders (exports, logs, temp files) left by a cfexplore process that
    was killed: their owner pid is gone. Folders of live processes are kept."""
    removed: list[Path] = []
    base = Path(tmp or tempfile.gettempdir())
    try:
        entries = list(base.glob(f"{WORKDIR_PREFIX}*"))
    except OSError:
        return removed
    for folder in entries:
        owner = folder / OWNER_FILE
        try:
            if not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
                continue
            pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            continue  # not ours, or being created right now
        if not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class WorkerClient:
    """Parent side: start, call, cancel and stop one worker process.

    One call runs at a time (a lock serialises callers). `progress(frac, message)` is called
    from the calling thread as the worker reports; `cancel` (a threading.Event) kills the
    worker as soon as it is set, raising `Cancelled`.
    """

    def __init__(self, memory_limit: int | None = None, nice: int = 0) -> None:
        self.memory_limit = memory_limit
        """Address-space limit in bytes for the worker process (None: no limit)."""
        self.nice = nice
        """Niceness increment of the worker (background checks yield the CPU)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None
        self._cancel_w: int | None = None
        self._lock = threading.Lock()
        global _cleaned
        if not _cleaned:  # once per process: the first worker start
            _cleaned = True
            clean_stale_workdirs()
        self.workdir = tempfile.mkdtemp(prefix=WORKDIR_PREFIX)
        (Path(self.workdir) / OWNER_FILE).write_text(str(os.getpid()))
        _LIVE.add(self)
        self._log_path = Path(self.workdir) / "worker.log"
        self.starts = 0
        self.holder: object | None = None
        """The engine Session whose target the worker holds (a shared worker changes it)."""
        self.last_progress = ""
        """The last progress line of the current (or last) call: the phase a timed-out
        call was in (see `phases`)."""

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
        cancel_r, cancel_w = os.pipe()
        # no __pycache__ in the user's folder; prints and warnings go to the worker log
        env = dict(
            os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1"
        )
        # torch's OpenMP threads sleep instead of spinning when idle: the worker alternates
        # torch and ONNX Runtime on the same cores, and the UI draws on them too
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            with open(self._log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "cfexplore.worker.server",
                        str(to_child_r),
                        str(from_child_w),
                        str(cancel_r),
                        self.workdir,
                        str(self.memory_limit or 0),
                        str(self.nice),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=(to_child_r, from_child_w, cancel_r),
                    start_new_session=True,
                    env=env,
                )
        except BaseException:
            for fd in (to_child_w, from_child_r, cancel_w):
                os.close(fd)
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
            os.close(cancel_r)
        self._cancel_w = cancel_w
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self.starts += 1

    def call(
        self,
        request: Request[R],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        *,
        timeout_per_phase: bool = False,
    ) -> R:
        """Send one request and wait for its result, forwarding progress messages.

        `timeout` bounds the whole call, or with `timeout_per_phase` each phase of it: the
        clock restarts at every progress line (a sweep announces each value's each side)."""
        op = request.op
        with self._lock:
            self.start()
            assert self._send and self._recv
            try:
                self._send.send(request)
            except (BrokenPipeError, OSError) as exc:
                raise self._crashed(op) from exc
            deadline = time.monotonic() + timeout if timeout else None
            soft_deadline: float | None = None
            self.last_progress = ""
            while True:
                if cancel is not None and cancel.is_set():
                    if soft_deadline is None:
                        soft_deadline = self._ask_cancel()
                        if soft_deadline is not None and soft_deadline < 0:
                            raise Cancelled(f"{op} cancelled")  # it had just finished
                    if soft_deadline is None or time.monotonic() > soft_deadline:
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
                except Exception as exc:  # not our message: something wrote into the pipe
                    raise self._garbled(op, exc) from exc
                if not isinstance(msg, dict):
                    raise self._garbled(op, TypeError(type(msg).__name__))
                kind = msg.get("type")
                if kind == "progress":
                    self.last_progress = str(msg.get("message", ""))
                    if timeout_per_phase and deadline is not None:
                        deadline = time.monotonic() + timeout  # type: ignore[operator]
                    if progress is not None:
                        progress(msg.get("frac"), msg.get("message", ""))
                elif kind == "result":
                    if soft_deadline is not None:
                        raise Cancelled(f"{op} cancelled")
                    return cast(R, msg.get("value"))
                elif kind == "error":
                    if msg.get("cancelled") or soft_deadline is not None:
                        raise Cancelled(f"{op} cancelled")
                    if msg.get("too_large"):
                        text = msg.get("details", "") + msg["message"]
                        raise CfxError(too_large_message(text, self.memory_limit), msg["details"])
                    if msg.get("user"):
                        raise CfxError(msg["message"], msg.get("details", ""))
                    raise WorkerError(msg["message"], msg.get("details", ""), msg.get("etype", ""))

    def _ask_cancel(self) -> float | None:
        """Ask the worker to stop its ONNX Runtime run; return the deadline to wait for its
        answer, or None when it is not inside a run (kill it instead)."""
        if self._cancel_w is None or self._recv is None:
            return None
        try:
            os.write(self._cancel_w, b"x")
            # the worker acknowledges at once, saying whether a run was terminated
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                if not self._recv.poll(0.02):
                    continue
                msg = self._recv.recv()
                if msg.get("type") == "cancel-ack":
                    return time.monotonic() + SOFT_CANCEL_S if msg.get("soft") else None
                if msg.get("type") in ("result", "error"):
                    return -1.0  # it finished meanwhile: alive and idle, the answer is void
        except (EOFError, OSError):
            pass
        return None

    def _garbled(self, op: str, exc: Exception) -> WorkerCrashed:
        """The reply stream holds bytes the worker's protocol did not write (user code
        wrote into the pipe): the stream cannot be trusted again, so the worker goes."""
        self.kill()
        self._cleanup()
        why = f"{type(exc).__name__}: {exc}"[:120]
        msg = f"the worker's reply to {op} was not readable ({why}): user code wrote into its pipe?"
        return WorkerCrashed(msg, msg)

    def _crashed(self, op: str) -> WorkerCrashed:
        """Reap the dead worker and describe how it died, with the tail of its log."""
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                # its end of the stream broke, yet it lives on: the stream was corrupted
                return self._garbled(op, EOFError("the message stream broke"))
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

    def kill(self, grace: float | None = None) -> None:
        """End the worker's whole process group: SIGTERM, then SIGKILL after `grace` s
        (default `KILL_GRACE_S`)."""
        grace = KILL_GRACE_S if grace is None else grace
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                proc.terminate()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.kill()
                proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        for conn in (self._send, self._recv):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        self._send = self._recv = None
        if self._cancel_w is not None:
            with contextlib.suppress(OSError):
                os.close(self._cancel_w)
            self._cancel_w = None
        if self._proc is not None and self._proc.poll() is not None:
            # anything user code started in the worker's group (a sleeping child) goes too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc = None

    def close(self) -> None:
        """Stop the worker (politely, then by force) and delete its folder."""
        if self.alive and self._send is not None:
            try:
                self._send.send(Shutdown())
                assert self._proc is not None
                self._proc.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired, AssertionError):
                pass
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def destroy(self) -> None:
        """Kill the worker's process group at once and delete its folder: for a process
        being terminated (a signal), with no time for a polite shutdown."""
        self.kill(grace=0.5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LIVE: weakref.WeakSet[WorkerClient] = weakref.WeakSet()
"""Every WorkerClient this process made (see `destroy_all`)."""


def live_clients() -> set[WorkerClient]:
    """The WorkerClients of this process not garbage-collected yet."""
    return set(_LIVE)


def destroy_all(keep: set[WorkerClient] | None = None) -> int:
    """Kill every worker this process started (but those in `keep`) and delete their
    folders (SIGTERM, SIGHUP, a second ctrl+c: the process is going, its workers and temp
    folders go with it). Returns how many clients were destroyed."""
    clients = [c for c in list(_LIVE) if not keep or c not in keep]
    for client in clients:
        with contextlib.suppress(Exception):
            client.destroy()
    return len(clients)
