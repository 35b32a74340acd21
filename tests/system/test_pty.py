"""Terminal safety in a real pseudo-terminal: a hostile model cannot drive the terminal.

The real `cfexplore --open FILE` runs in an 80x24 pty (TERM=xterm-256color) on a model whose
names, doc strings, graph name and metadata hold terminal escape sequences, BEL, a bidi
override, Rich markup and 10,000-character strings. Keys expand the tree and show node
details; every byte the app writes is captured. None of the model's escape sequences may
reach the terminal raw, their escaped forms must be on screen, and the app must exit
cleanly without leaving a process behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

F = TensorProto.FLOAT
TITLE = "\x1b]0;PWNED-TITLE\x07"
CLEAR = "\x1b[2JCLEARED"
RED = "\x1b[31mREDTEXT"
BELL = "BELL\x07BELL"
RLO = "\u202eRLO-OVERRIDE"
LINK = "[link=https://evil]x[/link]"
MARKUP = "[/x]"
LONG = "L" * 10_000
PAYLOADS = [TITLE, CLEAR, RED, BELL, RLO, LINK, MARKUP]
DEADLINE = 60.0
"""Seconds any one wait may take before the test gives up (and kills the app)."""


def hostile_model() -> onnx.ModelProto:
    """Seven Identity nodes named by payloads, an If whose branches carry more, and hostile
    doc strings, graph name, metadata and a 10,000-character name; ONNX Runtime refuses it
    with an error naming a hostile node (shown by the app's validation)."""
    then = helper.make_graph(
        [helper.make_node("Identity", ["v6"], ["t"], name=RED + "-then", doc_string=TITLE)],
        TITLE,
        [],
        [helper.make_tensor_value_info("t", F, [2])],
    )
    other = helper.make_graph(
        [helper.make_node("Identity", ["v6"], ["e"], name=LINK + "-else")],
        RLO,
        [],
        [helper.make_tensor_value_info("e", F, [2])],
    )
    nodes = []
    for i, payload in enumerate(PAYLOADS):
        node = helper.make_node(
            "Identity",
            ["x" if i == 0 else f"v{i - 1}"],
            [f"v{i}"],
            name=payload,
            doc_string=f"doc {payload} {CLEAR} {BELL}",
        )
        node.metadata_props.add(key=payload, value=f"{TITLE} {RED} {RLO}")
        nodes.append(node)
    nodes.append(
        helper.make_node(
            "If", ["c"], ["y"], name=LONG, then_branch=then, else_branch=other, doc_string=LONG
        )
    )
    # float + int64: ONNX Runtime refuses the model, naming this node in its error message
    nodes.append(helper.make_node("Add", ["x", "n"], ["bad"], name=TITLE + RED))
    # reads of names nothing defines: the app warns, quoting these node names
    nodes.append(helper.make_node("Identity", ["nowhere"], ["w1"], name=LINK))
    nodes.append(helper.make_node("Identity", ["nowhere"], ["w2"], name=MARKUP + TITLE))
    graph = helper.make_graph(
        nodes,
        TITLE + "graph",
        [
            helper.make_tensor_value_info("x", F, [2]),
            helper.make_tensor_value_info("c", TensorProto.BOOL, []),
            helper.make_tensor_value_info("n", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", F, [2])],
        doc_string=CLEAR,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.producer_name = TITLE
    model.producer_version = RED
    model.doc_string = BELL + LONG
    model.metadata_props.add(key=TITLE, value=RLO + LINK)
    return model


# --------------------------------------------------------------------------- the pty


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid` (from /proc)."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        by_parent.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in by_parent.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


_CSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")
"""Control sequences (cursor moves, colours): dropped to read the screen's text."""
_OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
"""Operating-system commands (window title, hyperlinks), ended by BEL or ST."""


class Terminal:
    """The app in an 80x24 pty; a thread drains everything it writes into `output`."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal, then become the app
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = bytearray()
        self.status: int | None = None
        self.seen: set[int] = set()
        """Every descendant process seen while the app ran."""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if not ready:
                    if self.status is not None:
                        return
                    continue
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk

    def text(self) -> bytes:
        with self._lock:
            return bytes(self.output)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait_for(
        self, check: Callable[[bytes], bool], what: str, timeout: float = DEADLINE
    ) -> None:
        end = time.monotonic() + timeout
        while not check(self.text()):
            self.seen |= _children(self.pid)
            if self.poll() is not None:
                plain = _CSI.sub(b"", self.text()).decode("utf-8", "replace")
                raise AssertionError(
                    f"the app exited ({self.status}) while waiting for {what}:\n{plain[-1500:]}"
                )
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def settle(self, quiet: float = 0.5, timeout: float = DEADLINE) -> None:
        """Wait until the app has written nothing for `quiet` seconds."""
        end = time.monotonic() + timeout
        last, since = len(self.text()), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < end:
            time.sleep(0.05)
            self.seen |= _children(self.pid)
            now = len(self.text())
            if now != last:
                last, since = now, time.monotonic()

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status

    def wait(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        return self.status

    def close(self) -> None:
        """Kill the app (and its process group) if it still runs; reap it; close the pty."""
        if self.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, sig)
                if self.wait(5) is not None:
                    break
        for child in self.seen:
            if _alive(child):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.fd)


DOWN, RIGHT = b"\x1b[B", b"\x1b[C"


def test_hostile_model_in_a_real_terminal(tmp_path: Path) -> None:
    path = tmp_path / "hostile.onnx"
    onnx.save(hostile_model(), path)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEXTUAL", "PYTEST", "COLUMNS", "LINES"))
    }
    env.update(TERM="xterm-256color", COLORTERM="truecolor", PYTHONDONTWRITEBYTECODE="1")
    argv = [sys.executable, "-m", "cfexplore", "--open", str(path)]
    term = Terminal(argv, env, tmp_path)
    try:
        term.wait_for(lambda out: b"PWNED-TITLE" in out, "the tree")
        term.settle()
        term.send(b"e")  # expand every If, its branches and the path to it
        term.settle()
        for _ in range(len(PAYLOADS) + 4):  # walk the nodes; the pane shows each one's details
            term.send(DOWN)
            time.sleep(0.25)
        term.send(RIGHT)
        term.settle()
        for _ in range(3):
            term.send(DOWN)
            time.sleep(0.25)
        term.settle()
        term.wait_for(lambda out: b"Doc string" in out, "a node's details")
        running = {pid for pid in term.seen if _alive(pid)}
        term.send(b"\x11")  # ctrl+q
        status = term.wait(20)
        assert status is not None, "ctrl+q did not quit the app"
        term._reader.join(timeout=5)
        output = term.text()
    finally:
        term.close()

    dump = os.environ.get("CFEXPLORE_PTY_DUMP")
    if dump:  # for a look at what the terminal got
        Path(dump).write_bytes(output)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    time.sleep(0.2)
    left = sorted(pid for pid in term.seen | running if _alive(pid))
    assert not left, f"processes left behind: {left}"

    # nothing the model holds acts on the terminal ...
    for raw in (
        b"\x1b]0;PWNED-TITLE",
        b"\x1b[2JCLEARED",
        b"\x1b[31mREDTEXT",
        b"BELL\x07BELL",
        "\u202e".encode(),
    ):
        assert raw not in output, raw
    for osc in _OSC.findall(output):  # Textual's own OSCs only (title, clipboard...)
        assert b"PWNED" not in osc and b"evil" not in osc, osc
    assert b"\x07" not in _OSC.sub(b"", output), "a raw BEL reached the terminal"
    # ... and all of it is on screen, escaped
    for shown in (
        b"\\x1b]0;PWNED-TITLE\\x07",
        b"\\x1b[2JCLEARED",
        b"\\x1b[31mREDTEXT",
        b"BELL\\x07BELL",
        b"\\u202eRLO-OVERRIDE",
        b"[link=https://evil]x[/link]",
        b"[/x]",
        b"Doc string",
    ):
        assert shown in output, shown
