"""Run an .onnx file on its own: ONNX Runtime against onnx's ReferenceEvaluator.

A file opened without its PyTorch model still has a question to answer: does ONNX Runtime
compute what the ONNX spec says? Both backends get the same feeds, built from the file's
declared inputs and the user's `FeedPlan` (`--input sr=16000`, `--dim N=512`). The work
runs in a memory-limited worker (the `RunFile` request's handler, `worker.filework`); the
reference evaluator, pure numpy, runs by default only for files up to `AUTO_LIMIT_BYTES`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from cfexplore.phases import PHASE_ORT, PHASE_REFERENCE, stalled
from cfexplore.results import FileRunResult
from cfexplore.settings import RunSettings
from cfexplore.target.feeds import FeedPlan, resolve
from cfexplore.worker.filework import command
from cfexplore.worker.protocol import FileInputs, RunFile

if TYPE_CHECKING:
    from cfexplore.worker.client import WorkerClient

RUN_TIMEOUT_S = 600.0
"""Default time limit for one file run (load, session, both backends)."""


def run_file(
    path: str,
    plan: FeedPlan | None = None,
    settings: RunSettings | None = None,
    client: WorkerClient | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = RUN_TIMEOUT_S,
) -> FileRunResult:
    """Run `path` in ONNX Runtime and the reference evaluator, in a memory-limited worker
    (its own unless `client` is given). A bad input setting raises CfxError (one line)."""
    from cfexplore.errors import TimedOut
    from cfexplore.worker.client import WorkerClient
    from cfexplore.worker.limits import DEFAULT_ONNX_MEMORY_LIMIT

    plan = plan or FeedPlan()
    settings = settings or RunSettings()
    seed, rtol, atol = settings.seed, settings.rtol, settings.atol
    if client is None:
        with WorkerClient(memory_limit=DEFAULT_ONNX_MEMORY_LIMIT) as own:
            return run_file(path, plan, settings, own, cancel, timeout)
    try:
        request = RunFile(str(path), plan.to_dict(), settings)
        result = client.call(request, None, cancel, timeout)
    except TimedOut:
        # a FAIL naming the side that never finished; the client starts a new worker next call
        where = stalled(client.last_progress)
        result = FileRunResult(
            str(path),
            seed,
            rtol,
            atol,
            [],
            [],
            command=command(str(path), plan, seed, rtol, atol, settings),
        )
        message = where.message(timeout)
        if where.side == PHASE_REFERENCE:
            result.reference_error = message
        else:
            result.ort_error = message
            first = "ONNX Runtime" if where.side == PHASE_ORT else "the load"
            result.reference_error = f"not run: {first} did not finish"
        _add_inputs(result, client, plan, timeout)
    return result


def _add_inputs(
    result: FileRunResult, client: WorkerClient, plan: FeedPlan, timeout: float | None
) -> None:
    """A timed-out run still lists the file's inputs (the inputs editor needs them: an input
    may be what made it run so long); reading them is a quick call of its own."""
    try:
        result.declared = client.call(FileInputs(result.path), None, None, timeout)
        resolved = resolve(result.declared, plan)
    except Exception:
        return  # the timeout row already says what happened
    result.inputs, result.free_dims = resolved.describe(), resolved.defaulted
