"""The CLI stopped by SIGTERM, SIGHUP, a double ctrl+c or SIGKILL in the middle of a long
diff: it exits, and no worker process or temp folder outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.system.test_pty import _alive, _children

LONG_DIFF = ["diff", "loop-forward-arg", "--exporter", "script", "--run", "n_loops=1000000000"]


def _workers(pid: int) -> set[int]:
    found = set()
    for child in _children(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"cfexplore.worker.server" in cmd:
            found.add(child)
    return found


def _start(tmp: Path) -> tuple[subprocess.Popen[str], set[int]]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfexplore", *LONG_DIFF],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while not workers and time.monotonic() < deadline:
        workers = _workers(proc.pid)
        time.sleep(0.1)
    assert workers, "no worker started"
    time.sleep(6)  # into the load, the export or the endless diff: all must end alike
    assert proc.poll() is None
    return proc, workers


def _gone(pids: set[int], within: float) -> bool:
    end = time.monotonic() + within
    while any(_alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    return not any(_alive(p) for p in pids)


def _folders(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("cfexplore-"))


@pytest.mark.parametrize(
    ("signals", "code"),
    [
        ((signal.SIGTERM,), 128 + signal.SIGTERM),
        ((signal.SIGHUP,), 128 + signal.SIGHUP),
        ((signal.SIGINT, signal.SIGINT), 128 + signal.SIGINT),
    ],
    ids=["SIGTERM", "SIGHUP", "double-SIGINT"],
)
def test_signal_stops_the_cli_and_its_worker(
    tmp_path: Path, signals: tuple[signal.Signals, ...], code: int
) -> None:
    proc, workers = _start(tmp_path)
    try:
        for sig in signals:
            proc.send_signal(sig)
            time.sleep(0.5)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert _gone(workers, 5), "a worker outlived the CLI"
        assert _folders(tmp_path) == []
    finally:
        proc.kill()


def test_sigkill_leaves_no_worker_and_the_next_run_removes_its_folder(tmp_path: Path) -> None:
    proc, workers = _start(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert _gone(workers, 5), "the worker outlived a SIGKILLed CLI (parent watch)"
    assert len(_folders(tmp_path)) == 1  # nothing could delete it: the next start does
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    again = subprocess.run(
        [sys.executable, "-m", "cfexplore", "diff", "if-forward-arg", "--exporter", "script"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert _folders(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_signal_stops_the_app_and_its_workers(tmp_path: Path, sig: signal.Signals) -> None:
    """The SSH session goes (SIGHUP) or the app is killed politely: a sweep running in its
    warm worker is stopped, the worker killed and its folder deleted, the app exits."""
    from tests.system.test_pty import Terminal

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEXTUAL", "PYTEST", "COLUMNS", "LINES"))
    }
    env.update(TERM="xterm-256color", TMPDIR=str(tmp_path))
    argv = [sys.executable, "-m", "cfexplore", "--open", "loop-forward-arg"]
    term = Terminal(argv, env, tmp_path)
    try:
        end = time.monotonic() + 120
        workers: set[int] = set()
        while not workers and time.monotonic() < end:
            workers = _workers(term.pid)
            time.sleep(0.1)
        assert workers, "no worker started"
        term.wait_for(lambda out: b"loaded" in out or b"n_loops" in out, "the loaded target")
        os.kill(term.pid, sig)
        status = term.wait(15)
        assert status is not None, "the app did not exit"
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + sig, status
        assert _gone(workers, 5), "a worker outlived the app"
        assert _folders(tmp_path) == []
    finally:
        term.close()
