"""The worker side of a lone `.onnx` file run: safe load, feeds, ONNX Runtime, the
reference evaluator, compare (each phase announced, so a timed-out run says which hung)."""

from __future__ import annotations

import os
import shlex
import time
from typing import Any

from cfexplore.analysis.reference import AUTO_LIMIT_BYTES
from cfexplore.analysis.tolerance import Tolerances
from cfexplore.errors import CfxError
from cfexplore.errortext import short_error
from cfexplore.phases import PHASE_ORT, PHASE_REFERENCE
from cfexplore.results import DEFAULT_ATOL, DEFAULT_RTOL, DEFAULT_SEED, FileRunResult
from cfexplore.settings import RunSettings
from cfexplore.target.datafiles import check_feeds, read_feeds, read_outputs, save_run_files
from cfexplore.target.feeds import FeedPlan, graph_inputs, make_feeds, resolve
from cfexplore.worker.ort import RunTerminated
from cfexplore.worker.outputs import compare_all


def command(
    path: str,
    plan: FeedPlan,
    seed: int,
    rtol: float,
    atol: float,
    settings: RunSettings | None = None,
) -> str:
    """The CLI command that repeats this run (with `settings`' extra flags and the files
    it loaded)."""
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
    if settings is not None:
        parts += settings.extra_flags()
        for flag, file in (("--load-inputs", settings.files.load_inputs),
                           ("--load-outputs", settings.files.load_outputs)):  # fmt: skip
            parts += [flag, file] if file else []
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
    settings: RunSettings,
    progress: Any = None,
) -> FileRunResult:
    """The worker side: safe load, feeds, ORT run, reference run, compare. Each phase is
    announced through `progress` (`PHASE_*`), so a timed-out run says which one hung."""
    import onnxruntime as ort

    from cfexplore.graph.safeload import load_model_safely
    from cfexplore.worker.ort import session_options

    seed, rtol, atol, reference = settings.seed, settings.rtol, settings.atol, settings.reference
    feed_plan = FeedPlan.from_dict(plan)
    model = load_model_safely(path, load_external=True)
    declared = graph_inputs(model)
    again = command(path, feed_plan, seed, rtol, atol, settings)
    result = FileRunResult(path, seed, rtol, atol, [], [], command=again, declared=declared)
    try:
        resolved = resolve(declared, feed_plan)
    except CfxError as exc:
        result.plan_error = str(exc)
        return result
    result.inputs, result.free_dims = resolved.describe(), resolved.defaulted
    files = settings.files
    tol = Tolerances.from_settings(settings)
    try:
        if files.load_inputs:
            feeds = check_feeds(read_feeds(files.load_inputs), declared)
            result.inputs = [f"{n}: {'x'.join(map(str, a.shape)) or 'scalar'} {a.dtype} (loaded)"
                             for n, a in feeds.items()]  # fmt: skip
            result.free_dims = []
        else:
            feeds = make_feeds(resolved, seed)
        expected = read_outputs(files.load_outputs) if files.load_outputs else None
    except CfxError as exc:
        result.plan_error = str(exc)
        return result
    ort_out: list[Any] | None = None
    announce = progress or (lambda frac, message: None)
    announce(None, PHASE_ORT)
    try:
        session = ort.InferenceSession(
            path, session_options(settings.reproducible), providers=["CPUExecutionProvider"]
        )
        runtime.stats["sessions"] += 1
        result.names = [o.name for o in session.get_outputs()]
        start = time.perf_counter()
        ort_out = runtime.ort_run(session, feeds)
        result.ort_ms = (time.perf_counter() - start) * 1000
        result.ort_shapes = [_shape(v) for v in ort_out]
        tol.check_names(result.names)
        save_run_files(files, feeds, result.names, ort_out)
    except CfxError as exc:
        result.plan_error = str(exc)
        return result
    except Exception as exc:
        if isinstance(exc, RunTerminated):
            raise
        result.ort_error = short_error(exc)
    if expected is not None:
        return _against_saved(result, expected, ort_out, tol)
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
        names = result.names + [f"output{i}" for i in range(len(result.names), len(ref_out))]
        result.outputs = compare_all(names, ref_out, ort_out, rtol, atol, tol=tol)
    result.passed = result.ort_error is None and all(o.passed for o in result.outputs)
    return result


def _against_saved(
    result: FileRunResult, expected: dict[str, Any], ort_out: list[Any] | None, tol: Tolerances
) -> FileRunResult:
    """ORT's outputs compared, by name, against saved ones (`--load-outputs`)."""
    result.reference_error = "not run (--load-outputs)"
    if ort_out is None:
        return result
    missing = [n for n in result.names if n not in expected]
    if missing:
        result.plan_error = (
            f"--load-outputs: no saved output named {missing[0]!r} "
            f"(the file has {', '.join(list(expected)[:8]) or 'none'})"
        )
        return result
    ref = [expected[n] for n in result.names]
    result.outputs = compare_all(result.names, ref, ort_out, tol.rtol, tol.atol, tol=tol)
    result.passed = result.ort_error is None and all(o.passed for o in result.outputs)
    return result


def inputs_in_worker(path: str) -> list[Any]:
    """The worker side of `FileInputs`: the declared graph inputs of a safely loaded file."""
    from cfexplore.graph.safeload import load_model_safely

    return graph_inputs(load_model_safely(path))
