"""Run an .onnx file on its own: ONNX Runtime against onnx's ReferenceEvaluator.

A file opened without its PyTorch model still has a question to answer: does ONNX Runtime
compute what the ONNX spec says? Both backends get the same feeds, built from the file's
declared inputs and the user's `FeedPlan` (`--input sr=16000`, `--dim N=512`). The work
runs in a memory-limited worker (`Runtime.handle("run_file")` calls `run_in_worker`); the
reference evaluator, pure numpy, runs by default only for files up to `AUTO_LIMIT_BYTES`.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from typing import Any

from cfexplore.analysis import diffing
from cfexplore.analysis.reference import AUTO_LIMIT_BYTES
from cfexplore.errors import CfxError
from cfexplore.errortext import short_error
from cfexplore.phases import PHASE_ORT, PHASE_REFERENCE, stalled
from cfexplore.results import DEFAULT_ATOL, DEFAULT_RTOL, DEFAULT_SEED, FileRunResult
from cfexplore.target.feeds import FeedPlan, graph_inputs, make_feeds, resolve

RUN_TIMEOUT_S = 600.0
"""Default time limit for one file run (load, session, both backends)."""


def command(path: str, plan: FeedPlan, seed: int, rtol: float, atol: float) -> str:
    """The CLI command that repeats this run."""
    parts = ["cfexplore", "diff", path]
    for name, text in plan.inputs.items():
        parts += ["--input", f"{name}={text}"]
    for sym, n in plan.dims.items():
        parts += ["--dim", f"{sym}={n}"]
    if seed != DEFAULT_SEED:
        parts += ["--seed", str(seed)]
    if rtol != DEFAULT_RTOL:
        parts += ["--rtol", f"{rtol:g}"]
    if atol != DEFAULT_ATOL:
        parts += ["--atol", f"{atol:g}"]
    return shlex.join(parts)


def _shape(value: Any) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"{value.dtype}[{','.join(map(str, value.shape))}]"
    if isinstance(value, list):
        return f"seq[{len(value)}]"
    return type(value).__name__


def run_in_worker(
    runtime: Any,
    path: str,
    plan: dict[str, Any],
    seed: int,
    rtol: float,
    atol: float,
    reference: bool | None,
    progress: Any = None,
) -> FileRunResult:
    """The worker side: safe load, feeds, ORT run, reference run, compare. Each phase is
    announced through `progress` (`PHASE_*`), so a timed-out run says which one hung."""
    import onnxruntime as ort

    from cfexplore.graph.safeload import load_model_safely
    from cfexplore.worker.runtime import session_options

    feed_plan = FeedPlan.from_dict(plan)
    model = load_model_safely(path, load_external=True)
    declared = graph_inputs(model)
    result = FileRunResult(
        path, seed, rtol, atol, [], [], command=command(path, feed_plan, seed, rtol, atol),
        declared=declared,
    )  # fmt: skip
    try:
        resolved = resolve(declared, feed_plan)
    except CfxError as exc:
        result.plan_error = str(exc)
        return result
    result.inputs, result.free_dims = resolved.describe(), resolved.defaulted
    feeds = make_feeds(resolved, seed)
    ort_out: list[Any] | None = None
    announce = progress or (lambda frac, message: None)
    announce(None, PHASE_ORT)
    try:
        session = ort.InferenceSession(path, session_options(), providers=["CPUExecutionProvider"])
        runtime.stats["sessions"] += 1
        result.names = [o.name for o in session.get_outputs()]
        start = time.perf_counter()
        ort_out = runtime.ort_run(session, feeds)
        result.ort_ms = (time.perf_counter() - start) * 1000
        result.ort_shapes = [_shape(v) for v in ort_out]
    except Exception as exc:
        if type(exc).__name__ == "RunTerminated":
            raise
        result.ort_error = short_error(exc)
    if reference is None:
        reference = os.path.getsize(path) <= AUTO_LIMIT_BYTES
    ref_out: list[Any] | None = None
    if reference:
        from onnx.reference import ReferenceEvaluator

        announce(None, PHASE_REFERENCE)
        try:
            start = time.perf_counter()
            ref_out = list(ReferenceEvaluator(model).run(None, feeds))
            result.reference_ms = (time.perf_counter() - start) * 1000
        except Exception as exc:
            result.reference_error = short_error(exc)
    else:
        result.reference_error = "not run: the file is over the reference evaluator's size"
    if ort_out is not None and ref_out is not None:
        result.outputs = [
            diffing.compare(i, result.names[i] if i < len(result.names) else f"output{i}", r, g,
                            rtol, atol)
            for i, (r, g) in enumerate(zip(ref_out, ort_out, strict=False))
        ]  # fmt: skip
    result.passed = result.ort_error is None and all(o.passed for o in result.outputs)
    return result


def run_file(
    path: str,
    plan: FeedPlan | None = None,
    seed: int = DEFAULT_SEED,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    reference: bool | None = None,
    client: Any = None,
    cancel: threading.Event | None = None,
    timeout: float | None = RUN_TIMEOUT_S,
) -> FileRunResult:
    """Run `path` in ONNX Runtime and the reference evaluator, in a memory-limited worker
    (its own unless `client` is given). A bad input setting raises CfxError (one line)."""
    from cfexplore.errors import TimedOut
    from cfexplore.worker.client import DEFAULT_ONNX_MEMORY_LIMIT, WorkerClient

    plan = plan or FeedPlan()
    if client is None:
        with WorkerClient(memory_limit=DEFAULT_ONNX_MEMORY_LIMIT) as own:
            return run_file(path, plan, seed, rtol, atol, reference, own, cancel, timeout)
    try:
        result: FileRunResult = client.call(
            "run_file", None, cancel, timeout,
            path=str(path), plan=plan.to_dict(), seed=seed, rtol=rtol, atol=atol,
            reference=reference,
        )  # fmt: skip
    except TimedOut:
        # a FAIL naming the side that never finished; the client starts a new worker next call
        where = stalled(client.last_progress)
        result = FileRunResult(
            str(path), seed, rtol, atol, [], [], command=command(str(path), plan, seed, rtol, atol)
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


def _add_inputs(result: FileRunResult, client: Any, plan: FeedPlan, timeout: float | None) -> None:
    """A timed-out run still lists the file's inputs (the inputs editor needs them: an input
    may be what made it run so long); reading them is a quick call of its own."""
    try:
        result.declared = client.call("file_inputs", None, None, timeout, path=result.path)
        resolved = resolve(result.declared, plan)
    except Exception:
        return  # the timeout row already says what happened
    result.inputs, result.free_dims = resolved.describe(), resolved.defaulted


def inputs_in_worker(path: str) -> list[Any]:
    """The worker side of `file_inputs`: the declared graph inputs of a safely loaded file."""
    from cfexplore.graph.safeload import load_model_safely

    return graph_inputs(load_model_safely(path))
