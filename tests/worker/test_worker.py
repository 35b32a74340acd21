"""Isolation: user code runs in a worker process that can die or be cancelled safely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from cfexplore.engine.session import Session
from cfexplore.errors import Cancelled, CfxError, WorkerCrashed
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec
from cfexplore.target.targets import parse_target
from cfexplore.worker.client import WorkerClient
from tests.conftest import DATA


def spec_of(name: str) -> TargetSpec:
    return parse_target(str(DATA / name))


@pytest.mark.slow
def test_sys_exit_on_import_is_an_error_not_an_exit() -> None:
    with pytest.raises(CfxError, match=r"sys.exit\(3\)"):
        Session.open(spec_of("exits_on_import.py:Net"))


@pytest.mark.slow
def test_raise_on_import_gives_short_error_and_details() -> None:
    with pytest.raises(CfxError) as info:
        Session.open(spec_of("raises_on_import.py:Net"))
    assert "ValueError: boom at import" in str(info.value)
    assert "Traceback" in info.value.details


@pytest.mark.slow
def test_segfault_leaves_caller_alive_and_worker_restartable() -> None:
    client = WorkerClient()
    try:
        with pytest.raises(WorkerCrashed, match="SIGSEGV"):
            Session.open(spec_of("segfaults_on_import.py:Net"), client=client)
        assert not client.alive
        # the same client starts a fresh process for the next request
        session = Session.open(TargetSpec(variant="if-forward-arg"), client=client)
        assert session.info.knobs[0].name == "branch_testing"
        assert client.starts == 2
    finally:
        client.close()


HANGS_WITH_A_CHILD = """
import pathlib, subprocess, sys
child = subprocess.Popen(["sleep", "300"])
pathlib.Path(__file__).with_suffix(".pid").write_text(str(child.pid))
while True:
    pass


class Net:
    pass
"""


@pytest.mark.slow
def test_cancel_kills_the_process_group(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.worker.test_user_code import alive

    src = tmp_path / "hangs.py"
    src.write_text(HANGS_WITH_A_CHILD)
    child_file = src.with_suffix(".pid")
    client = WorkerClient()
    cancel = threading.Event()
    seen: list[int] = []

    def cancel_once_the_child_runs() -> None:
        deadline = time.monotonic() + 60
        while not child_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if client.pid is not None:
            seen.append(client.pid)  # read while it runs: after the kill it is cleared
        cancel.set()

    watcher = threading.Thread(target=cancel_once_the_child_runs, daemon=True)
    watcher.start()
    start = time.monotonic()
    try:
        with pytest.raises(Cancelled):
            Session.open(parse_target(f"{src}:Net"), cancel=cancel, client=client)
        assert time.monotonic() - start < 70
        child = int(child_file.read_text())
        assert seen, "the worker's pid was never seen"
        deadline = time.monotonic() + 10
        while (alive(seen[0]) or alive(child)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(seen[0]), "the worker survived the cancel"
        assert not alive(child), "the child user code started survived the cancel"
    finally:
        cancel.set()
        client.close()


@pytest.mark.slow
def test_timeout_stops_a_hanging_import() -> None:
    with pytest.raises(CfxError, match="longer than"):
        Session.open(spec_of("hangs_on_import.py:Net"), timeout=2)


def test_second_diff_reuses_module_and_session() -> None:
    with Session.open(TargetSpec(variant="if-forward-arg")) as session:
        assert session.export("script").ok
        first = session.diff("script", RunSettings(seed=1))
        before = session.stats()
        second = session.diff("script", RunSettings(seed=2, values={"branch_testing": True}))
        after = session.stats()
        assert before["module_builds"] == after["module_builds"] == 1
        assert before["sessions"] == after["sessions"] == 1
        assert first.passed and second.passed
        assert first.outputs[0].max_abs != second.outputs[0].max_abs  # different inputs
        assert second.knob_values == {"branch_testing": True}
        assert "--seed 2" in second.command and "--run=branch_testing=true" in second.command
        assert second.versions["torch"].startswith("2.")
        assert "CPUExecutionProvider" in second.providers


def test_export_file_is_written_atomically_in_worker_folder() -> None:
    with Session.open(TargetSpec(variant="loop-forward-arg")) as session:
        result = session.export("script", RunSettings(opset=17))
        assert result.ok and result.opset == 17
        assert os.path.isfile(result.onnx_path)
        folder = os.path.dirname(result.onnx_path)
        assert not [f for f in os.listdir(folder) if f.endswith(".tmp")]
        assert result.control_flow == {"If": 0, "Loop": 1, "Scan": 0}
        assert any("TorchScript" in w or "deprecated" in w.lower() for w in result.warnings)
        assert len(result.warnings) == len(set(result.warnings))
    assert not os.path.exists(folder)  # closing the session removes the worker folder


def test_user_file_knob_discovery_and_verdicts() -> None:
    with Session.open(spec_of("user_model.py:UserNet")) as session:
        knobs = {k.name: k for k in session.info.knobs}
        assert set(knobs) == {"use_relu", "repeats", "double"}  # `hidden` is not control flow
        assert knobs["use_relu"].where == "forward-arg"
        assert knobs["repeats"].where == "instance-attr" and knobs["repeats"].construct == "Loop"
        assert knobs["repeats"].values == (0, 1, 2, 3)
        assert knobs["double"].where == "class-attr"
        assert knobs["use_relu"].line is not None
        report = session.check(["script"])
        got = {k.name: k.verdict for k in report.results[0].knobs}
        assert got == {"use_relu": "preserved", "repeats": "frozen", "double": "frozen"}


def test_user_file_with_input_option() -> None:
    spec = parse_target(str(DATA / "needs_input.py:Plain"), inputs=["x=3x8"])
    with Session.open(spec) as session:
        assert session.export("trace").ok
        diff = session.diff("trace")
        assert diff.passed and diff.outputs[0].torch_shape == [3, 2]


def test_init_option_reaches_the_constructor() -> None:
    spec = parse_target(str(DATA / "user_model.py:UserNet"), init=["repeats=3", "hidden=5"])
    with Session.open(spec) as session:
        assert {k.name: k.default for k in session.info.knobs}["repeats"] == 3
        session.export("script")
        assert session.diff("script").outputs[0].torch_shape == [2, 5]


@pytest.mark.slow  # waits out a time limit
def test_export_timeout_fails_the_export_and_the_session_recovers() -> None:
    with Session.open(TargetSpec(variant="if-torch-cond")) as session:
        session.timeout = 0.05  # dynamo takes ~1 s
        result = session.export("dynamo")
        assert not result.ok and result.error.startswith("TimedOut")
        session.timeout = None
        assert session.export("script").ok is False  # torch.cond is not scriptable
        assert session.export("dynamo").ok  # the killed worker was restarted and reloaded


PARENT = """
import threading, time
from cfexplore.target.targets import parse_target
from cfexplore.worker.client import WorkerClient
from cfexplore.worker.protocol import Load, Ping
client = WorkerClient()
print(client.call(Ping()), flush=True)
spec = parse_target({target!r})  # its import never returns: the worker stays busy
threading.Thread(target=client.call, args=(Load(spec),), daemon=True).start()
time.sleep(1.5)
print("busy", flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_worker_dies_with_its_parent(sig: signal.Signals) -> None:
    """The CLI or app killed (SSH hang-up, kill -9): its worker, which lives in its own
    process group, notices within a second and takes its group down with it — even in
    the middle of a long request."""
    code = PARENT.format(target=f"{DATA / 'hangs_on_import.py'}:Net")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "busy"
        assert _alive(worker)
        parent.send_signal(sig)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), f"worker {worker} outlived its parent ({sig.name})"
    finally:
        parent.kill()


def test_sessions_sharing_a_worker_each_run_their_own_target() -> None:
    """The app's warm worker holds one target at a time: a session whose target another
    session replaced reloads its own before it runs, and closing a session that does not
    own the worker leaves the process (torch imported) for the next one."""
    with WorkerClient() as client:
        a = Session.open(TargetSpec(variant="if-forward-arg"), client=client)
        pid = client.pid
        assert a.export("script").ok
        b = Session.open(TargetSpec(variant="loop-forward-arg"), client=client)
        assert client.pid == pid and not b.owns_client
        assert b.export("script").ok
        # a's target was replaced in the worker: its diff reloads it and exports again
        assert "n_loops" in b.diff("script").knob_values
        with pytest.raises(CfxError, match="export with script first"):
            a.diff("script")
        assert a.export("script").ok
        diff = a.diff("script", RunSettings(values={"branch_testing": True}))
        assert diff.passed and diff.knob_values == {"branch_testing": True}
        assert client.pid == pid
        assert a.stats()["loads"] == 3
        a.close()
        assert client.alive and client.pid == pid
