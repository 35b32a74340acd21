"""Hostile user code and hostile models against the worker: exits, children, floods,
raising forwards, cancel (RunOptions.terminate, SIGTERM then SIGKILL) and memory limits."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper

from cfexplore.engine.session import Session, run_onnx_file, validate_onnx_file
from cfexplore.errors import Cancelled, CfxError, WorkerCrashed
from cfexplore.settings import RunSettings
from cfexplore.target.targets import parse_target
from cfexplore.worker import client as worker_mod
from cfexplore.worker.client import WorkerClient
from cfexplore.worker.limits import DEFAULT_ONNX_MEMORY_LIMIT
from tests.conftest import DATA


def one_line(text: str) -> None:
    assert "\n" not in text and "Traceback" not in text, text
    assert len(text) <= 200, text


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pid = int(entry)
            try:
                if os.getpgid(pid) == pgid and alive(pid):
                    found.append(pid)
            except OSError:
                continue
    return found


def wait_gone(pid: int, within: float = 2.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# --------------------------------------------------------------------------- user files


def test_os_exit_on_import_is_one_line() -> None:
    with pytest.raises(WorkerCrashed) as info:
        Session.open(parse_target(f"{DATA / 'os_exit_on_import.py'}:Net"))
    assert "exited with code 3" in str(info.value)
    one_line(str(info.value))


def test_spawned_child_is_killed_on_timeout(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("CFX_TEST_PIDFILE", str(pidfile))
    monkeypatch.setenv("CFX_TEST_HANG", "1")
    client = WorkerClient()
    try:
        with pytest.raises(CfxError, match="longer than") as info:
            Session.open(parse_target(f"{DATA / 'spawns_child.py'}:Net"), client=client, timeout=8)
        one_line(str(info.value))
        child = int(pidfile.read_text())
        assert wait_gone(child), "the sleeping child outlived its worker"
    finally:
        client.close()


def test_spawned_child_is_killed_when_the_session_closes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("CFX_TEST_PIDFILE", str(pidfile))
    monkeypatch.delenv("CFX_TEST_HANG", raising=False)
    session = Session.open(parse_target(f"{DATA / 'spawns_child.py'}:Net"))
    worker_pid = session.client.pid
    assert worker_pid is not None
    child = int(pidfile.read_text())
    assert alive(child)
    session.close()  # polite shutdown: the worker exits, its group goes with it
    assert wait_gone(child)
    assert group_members(worker_pid) == []


def test_ten_megabytes_of_prints_stay_in_the_worker_log() -> None:
    """Prints, fd writes and warnings from user code never reach the CLI's stdout/stderr."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cfexplore",
            "diff",
            f"{DATA / 'prints_10mb.py'}:Net",
            "--exporter",
            "script",
        ],
        capture_output=True,
        timeout=300,
        text=True,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "PRINTED-BY-USER-CODE" not in proc.stdout + proc.stderr
    assert len(proc.stdout) + len(proc.stderr) < 20_000
    with Session.open(parse_target(f"{DATA / 'prints_10mb.py'}:Net")) as session:
        log = session.client.log_tail(200_000)
        assert "PRINTED-BY-USER-CODE-fd2" in log and "PRINTED-BY-USER-CODE-err" in log


def test_raise_in_forward_is_a_one_line_finding() -> None:
    with Session.open(parse_target(f"{DATA / 'raises_in_forward.py'}:Net")) as session:
        assert session.export("trace", RunSettings(values={"flag": False})).ok
        d = session.diff("trace", RunSettings(values={"flag": True}))
        assert d.torch_error is not None and "boom in forward" in d.torch_error
        one_line(d.torch_error)
        assert not d.passed
        ok = session.diff("trace", RunSettings(values={"flag": False}))
        assert ok.passed  # the session survives and the other path still works
        exp = session.export("trace", RunSettings(values={"flag": True}))
        assert not exp.ok and exp.error is not None and "boom in forward" in exp.error
        one_line(exp.error)


# --------------------------------------------------------------------------- cancel


def test_cancel_ends_the_worker_within_two_seconds() -> None:
    client = WorkerClient()
    cancel = threading.Event()
    stamp: list[float] = []

    def fire() -> None:
        stamp.append(time.monotonic())
        cancel.set()

    threading.Timer(1.5, fire).start()
    try:
        with pytest.raises(Cancelled):
            Session.open(
                parse_target(f"{DATA / 'hangs_on_import.py'}:Net"), cancel=cancel, client=client
            )
        assert time.monotonic() - stamp[0] < 2.0
        assert not client.alive
    finally:
        client.close()


def test_sigterm_ignored_means_sigkill_after_the_grace(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(worker_mod, "KILL_GRACE_S", 1.0)
    client = WorkerClient()
    cancel = threading.Event()
    try:
        threading.Timer(2.0, cancel.set).start()
        with pytest.raises(Cancelled):
            Session.open(
                parse_target(f"{DATA / 'ignores_sigterm.py'}:Net"), cancel=cancel, client=client
            )
        assert not client.alive
    finally:
        client.close()


def long_loop_model(path: Path) -> Path:
    """A Loop that adds one to a vector `n` times: with n = 10^10 it runs until stopped."""
    one = onnx.numpy_helper.from_array(np.ones(256, np.float32), "one")
    body = helper.make_graph(
        [
            helper.make_node("Add", ["v_in", "one"], ["v_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", T.INT64, []),
            helper.make_tensor_value_info("cond_in", T.BOOL, []),
            helper.make_tensor_value_info("v_in", T.FLOAT, [256]),
        ],
        [
            helper.make_tensor_value_info("cond_out", T.BOOL, []),
            helper.make_tensor_value_info("v_out", T.FLOAT, [256]),
        ],
        [one],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "c", "v"], ["out"], body=body)],
        "long",
        [
            helper.make_tensor_value_info("n", T.INT64, []),
            helper.make_tensor_value_info("c", T.BOOL, []),
            helper.make_tensor_value_info("v", T.FLOAT, [256]),
        ],
        [helper.make_tensor_value_info("out", T.FLOAT, [256])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path


def test_ort_run_cancels_through_run_options_and_keeps_the_worker(tmp_path: Path) -> None:
    model = long_loop_model(tmp_path / "long.onnx")
    feeds = {
        "n": np.array(10**10, np.int64),
        "c": np.array(True),
        "v": np.zeros(256, np.float32),
    }
    client = WorkerClient()
    try:
        names, outs, _ms = run_onnx_file(str(model), {**feeds, "n": np.array(3)}, client=client)
        assert outs[0][0] == 3.0
        pid = client.pid
        cancel = threading.Event()
        stamp: list[float] = []
        timer = threading.Timer(1.0, lambda: (stamp.append(time.monotonic()), cancel.set()))
        timer.start()
        with pytest.raises(Cancelled):
            run_onnx_file(str(model), feeds, client=client, cancel=cancel)
        assert time.monotonic() - stamp[0] < 2.0
        # terminated inside ORT: the same worker process answers the next request
        assert client.alive and client.pid == pid
        _names, outs, _ms = run_onnx_file(str(model), {**feeds, "n": np.array(2)}, client=client)
        assert outs[0][0] == 2.0
    finally:
        client.close()


# --------------------------------------------------------------------------- memory limit


def expand_model(path: Path, shape_from_input: bool = False, size: int = 2**40) -> Path:
    """`Expand` of a one-element tensor to `size` elements: a few hundred bytes on disk."""
    x = onnx.numpy_helper.from_array(np.ones([1], np.float32), "x")
    inits = [x]
    inputs = []
    if shape_from_input:
        inputs.append(helper.make_tensor_value_info("s", T.INT64, [1]))
    else:
        inits.append(onnx.numpy_helper.from_array(np.array([size], np.int64), "s"))
    graph = helper.make_graph(
        [helper.make_node("Expand", ["x", "s"], ["y"])],
        "expand",
        inputs,
        [helper.make_tensor_value_info("y", T.FLOAT, None)],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    assert path.stat().st_size <= 300
    return path


def test_expand_to_two_to_the_forty_is_model_too_large(tmp_path: Path) -> None:
    model = expand_model(tmp_path / "expand.onnx")
    before = rss_mb()
    start = time.monotonic()
    client = WorkerClient(memory_limit=DEFAULT_ONNX_MEMORY_LIMIT)
    try:
        res = validate_onnx_file(str(model), timeout=60, client=client)
        assert res.size_error is not None and res.size_error.startswith("model too large")
        assert "4 TiB" in res.size_error
        one_line(res.size_error)
        assert not res.ok
        with pytest.raises(CfxError, match="^model too large") as info:
            run_onnx_file(str(model), client=client)
        one_line(str(info.value))
        pid = client.pid
    finally:
        client.close()
    assert time.monotonic() - start < 60
    assert rss_mb() - before < 100
    assert pid is None or group_members(pid) == []


def test_memory_limit_stops_an_allocation_the_machine_could_make(tmp_path: Path) -> None:
    """A 2 GiB tensor whose shape arrives at run time: fine without a limit, refused with a
    1.5 GiB one — the limit, not luck, stops it."""
    model = expand_model(tmp_path / "runtime_shape.onnx", shape_from_input=True)
    feeds = {"s": np.array([2**29], np.int64)}
    with WorkerClient(memory_limit=1536 << 20) as client:
        with pytest.raises(CfxError, match="^model too large") as info:
            run_onnx_file(str(model), feeds, client=client)
        one_line(str(info.value))
        # a small one still runs in the same limited worker
        _names, outs, _ms = run_onnx_file(str(model), {"s": np.array([4])}, client=client)
        assert outs[0].shape == (4,)


def test_validate_cli(tmp_path: Path) -> None:
    model = expand_model(tmp_path / "expand.onnx")
    run = subprocess.run(
        [sys.executable, "-m", "cfexplore", "validate", str(model)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "model too large" in run.stdout and "Traceback" not in run.stdout + run.stderr
    bad = tmp_path / "junk.onnx"
    bad.write_text("hello")
    run = subprocess.run(
        [sys.executable, "-m", "cfexplore", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1


def test_stale_worker_folders_are_removed_on_next_start(tmp_path: Path) -> None:
    """A killed app leaves its worker folder (exports, temp files, log); the next worker
    start removes it. Folders of live processes stay."""
    from cfexplore.worker.client import OWNER_FILE, WORKDIR_PREFIX, clean_stale_workdirs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{WORKDIR_PREFIX}stale"
    stale.mkdir()
    (stale / OWNER_FILE).write_text(str(dead.pid))
    (stale / ".model.onnx.1234.tmp").write_bytes(b"half")
    live = tmp_path / f"{WORKDIR_PREFIX}live"
    live.mkdir()
    (live / OWNER_FILE).write_text(str(os.getpid()))
    other = tmp_path / f"{WORKDIR_PREFIX}no-owner"
    other.mkdir()
    assert clean_stale_workdirs(str(tmp_path)) == [stale]
    assert not stale.exists() and live.exists() and other.exists()
    with WorkerClient() as client:  # every worker start does the same in the temp folder
        assert (Path(client.workdir) / OWNER_FILE).read_text() == str(os.getpid())
