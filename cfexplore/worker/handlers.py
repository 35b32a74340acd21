"""The worker's handler table: request class -> the code that answers it.

`server` (the worker process) and `engine.api.InProcessClient` (the in-process Python
API) both answer requests here, so the two cannot drift; a request class without a handler
is refused before any user code runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.phases import PHASE_TORCH
from cfexplore.worker import protocol as p
from cfexplore.worker.runtime import Progress, Runtime


def _analyse(rt: Runtime, req: p.Analyse, progress: Progress) -> Any:
    from cfexplore.analysis.modelcheck import analyse_in_worker

    return analyse_in_worker(req.path)


def _infer_types(rt: Runtime, req: p.InferTypes, progress: Progress) -> Any:
    from cfexplore.graph.typeinfer import infer_in_worker

    return infer_in_worker(req.path)


def _file_inputs(rt: Runtime, req: p.FileInputs, progress: Progress) -> Any:
    from cfexplore.worker.filework import inputs_in_worker

    return inputs_in_worker(req.path)


def _run_file(rt: Runtime, req: p.RunFile, progress: Progress) -> Any:
    from cfexplore.worker.filework import run_in_worker

    return run_in_worker(rt, req.path, req.plan, req.settings, progress)


def _validate(rt: Runtime, req: p.Validate, progress: Progress) -> Any:
    from cfexplore.worker.validation import validate_file

    return validate_file(req.path)


def _sweep(rt: Runtime, req: p.Sweep, progress: Progress) -> Any:
    from cfexplore.worker.sweeping import sweep

    return sweep(rt, req.exporter, req.knob, req.settings, req.only, progress)


def _locate(rt: Runtime, req: p.Locate, progress: Progress) -> Any:
    from cfexplore.worker.locating import locate

    return locate(rt, req.exporter, req.settings, progress)


def _eager(rt: Runtime, req: p.Eager, progress: Progress) -> Any:
    progress(None, PHASE_TORCH)
    return rt.eager(req.settings)


HANDLERS: dict[type[p.Request[Any]], Callable[[Runtime, Any, Progress], Any]] = {
    p.Ping: lambda rt, req, progress: os.getpid(),
    p.Stats: lambda rt, req, progress: dict(rt.stats),
    p.Load: lambda rt, req, progress: rt.load(req.spec, progress),
    p.Export: lambda rt, req, progress: rt.export(req.exporter, req.settings, progress),
    p.Diff: lambda rt, req, progress: rt.diff(req.exporter, req.settings, progress),
    p.Sweep: _sweep,
    p.Locate: _locate,
    p.Eager: _eager,
    p.Validate: _validate,
    p.RunOnnx: lambda rt, req, progress: rt.run_onnx(req.path, req.feeds, req.seed),
    p.Analyse: _analyse,
    p.InferTypes: _infer_types,
    p.FileInputs: _file_inputs,
    p.RunFile: _run_file,
}


def handle(rt: Runtime, req: p.Request[Any], progress: Progress) -> Any:
    """Answer one request on `rt` (the worker's protocol, and the in-process client's)."""
    handler = HANDLERS.get(type(req))
    if handler is None:
        raise CfxError(f"unknown worker request {type(req).__name__}")
    return handler(rt, req, progress)
