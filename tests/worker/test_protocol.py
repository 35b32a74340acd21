"""The worker's typed protocol: every request has a handler, unknown ones are refused, and a
real worker answers typed replies."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from cfexplore.errors import CfxError
from cfexplore.settings import RunSettings
from cfexplore.worker import protocol
from cfexplore.worker.client import WorkerClient
from cfexplore.worker.handlers import HANDLERS, handle
from cfexplore.worker.protocol import Diff, Ping, Request, Shutdown, Stats
from cfexplore.worker.runtime import Runtime


def request_classes() -> list[type[Request[Any]]]:
    return [
        obj
        for obj in vars(protocol).values()
        if isinstance(obj, type) and issubclass(obj, Request) and obj is not Request
    ]


def test_every_request_but_shutdown_has_a_handler() -> None:
    classes = request_classes()
    assert len(classes) >= 12
    missing = [c.__name__ for c in classes if c not in HANDLERS and c is not Shutdown]
    assert missing == []
    assert len({c.op for c in classes}) == len(classes), "each request names itself"


def test_an_unknown_request_is_refused_before_anything_runs(tmp_path: Any) -> None:
    @dataclass(frozen=True)
    class Evil(Request[int]):
        op: ClassVar[str] = "evil"

    with pytest.raises(CfxError, match="unknown worker request Evil"):
        handle(Runtime(str(tmp_path)), Evil(), lambda _f, _m: None)


def test_requests_and_settings_pickle_whole() -> None:
    req = Diff("script", RunSettings(seed=7, rtol=0.1, values={"flag": True}))
    back = pickle.loads(pickle.dumps(req))
    assert back == req and back.settings.values == {"flag": True} and back.op == "diff"


def test_a_real_worker_answers_typed_replies() -> None:
    with WorkerClient() as client:
        pid = client.call(Ping())
        assert isinstance(pid, int) and pid != os.getpid()
        stats = client.call(Stats())
        assert stats == {"loads": 0, "module_builds": 0, "sessions": 0, "exports": 0, "diffs": 0}
        with pytest.raises(CfxError, match="no target loaded"):
            client.call(Diff("script"))
        assert client.call(Ping()) == pid  # a user error leaves the worker running


def test_reproducible_settings_reach_the_onnx_runtime_session(tmp_path: Any) -> None:
    from cfexplore.spec import TargetSpec

    rt = Runtime(str(tmp_path))
    rt.load(TargetSpec(variant="if-forward-arg"))
    assert rt.export("script", RunSettings()).ok
    plain = rt.diff("script", RunSettings())
    assert plain.passed and rt.exports["script"].reproducible is False
    same = rt.diff("script", RunSettings(reproducible=True))
    state = rt.exports["script"]
    assert state.reproducible is True
    opts = state.session.get_session_options()
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert same.passed
    assert rt.stats["sessions"] == 2  # rebuilt once for the other options, not per run
    rt.diff("script", RunSettings(reproducible=True))
    assert rt.stats["sessions"] == 2
