"""Time the real `cfexplore` (no arguments) to its first full screen in an 80x24 pty.

The app runs as a child process on a pseudo-terminal with TERM=xterm-256color; the time is
from spawn until every marker text of the Variants screen has been written to the
terminal (escape sequences stripped). Then the app's memory map is read to see whether
torch (libtorch) or onnxruntime were loaded before that first screen, and it quits with
ctrl+q.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import vm_hwm_mib

COLS, ROWS = 80, 24
MARKERS = ("if-class-attr", "Variants", "Quit")
"""Texts of the first screen: the first variant row, the mode bar and the footer."""
_ESC = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass
class FirstScreen:
    seconds: float
    torch_loaded: bool
    onnxruntime_loaded: bool
    peak_rss_mib: float | None
    bytes_written: int


def cfexplore_command() -> list[str]:
    """The installed `cfexplore` console script next to this Python (no pyenv shim)."""
    script = Path(sys.executable).with_name("cfexplore")
    return [str(script)] if script.exists() else ["cfexplore"]


def _child_setup() -> None:
    """In the child: own session, and the pty (stdin) as the controlling terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _mapped(pid: int, needle: str) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def measure(timeout: float = 60.0) -> FirstScreen:
    """One run: spawn, wait for the markers, inspect the process, quit."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
    for name in ("TEXTUAL", "TEXTUAL_DRIVER", "NO_COLOR"):
        env.pop(name, None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cfexplore_command(),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd="/tmp",
        preexec_fn=_child_setup,  # noqa: PLW1509 - setsid + controlling tty, nothing else
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    written = 0
    elapsed = None
    try:
        deadline = start + timeout
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            written += len(chunk)
            seen += _ESC.sub(b"", chunk)
            text = seen.decode("utf-8", "replace")
            if all(m in text for m in MARKERS):
                elapsed = time.perf_counter() - start
                break
        if elapsed is None:
            raise RuntimeError(f"no first screen within {timeout:g}s: {seen[-300:]!r}")
        result = FirstScreen(
            elapsed,
            _mapped(proc.pid, "libtorch"),
            _mapped(proc.pid, "onnxruntime"),
            vm_hwm_mib(proc.pid),
            written,
        )
    finally:
        _quit(proc, master)
    return result


def _quit(proc: subprocess.Popen[bytes], master: int) -> None:
    """ctrl+q, then SIGTERM / SIGKILL to the app's own process group if it lingers."""
    with contextlib.suppress(OSError):
        os.write(master, b"\x11")
    end = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < end:
        with contextlib.suppress(OSError):
            if select.select([master], [], [], 0.05)[0]:
                os.read(master, 65536)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
    with contextlib.suppress(OSError):
        os.close(master)


def floor(repeats: int) -> tuple[float, list[float]]:
    """Median wall time of `python -c "import textual.app"` (fresh processes)."""
    import statistics

    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import textual.app"], check=True, cwd="/tmp")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


if __name__ == "__main__":
    print(measure())
    print(floor(3))
