"""Engine measurements (no UI): a sweep against N single diffs, and Session.export against
a bare `torch.onnx.export` of the same model with the same exporter."""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import vm_hwm_mib

SWEEP_VARIANT = "loop-forward-arg"
EXPORT_VARIANT = "if-forward-arg"
WARMUP_DIFFS = 10
"""The first few torch forwards in a process are slow (~30 ms, then ~0.2 ms): warm up."""


def sweep(repeats: int) -> dict[str, Any]:
    """The worker's "sweep" op over every value of a knob vs one `Session.diff` per value."""
    from cfexplore.engine.session import Session
    from cfexplore.results import DEFAULT_ATOL, DEFAULT_RTOL
    from cfexplore.settings import RunSettings
    from cfexplore.spec import TargetSpec
    from cfexplore.worker.protocol import Sweep

    with Session.open(TargetSpec(variant=SWEEP_VARIANT)) as session:
        knob = session.info.knobs[0]
        assert session.export("script").ok
        for i in range(WARMUP_DIFFS):
            session.diff("script", RunSettings(seed=1000 + i))
        swept, singles = [], []
        for r in range(repeats):
            # fresh seeds on both sides: neither finds the torch outputs cached
            start = time.perf_counter()
            settings = RunSettings(seed=2000 + r, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL)
            rows, _has_input = session.client.call(Sweep("script", knob.name, settings))
            swept.append(time.perf_counter() - start)
            start = time.perf_counter()
            for value in knob.values:
                session.diff("script", RunSettings(seed=3000 + r, values={knob.name: value}))
            singles.append(time.perf_counter() - start)
        return {
            "variant": SWEEP_VARIANT,
            "knob": knob.name,
            "n": len(knob.values),
            "rows": len(rows),
            "seconds": statistics.median(swept),
            "floor_s": statistics.median(singles),
            "worker_rss_mib": vm_hwm_mib(session.client.pid),
        }


def _module_and_args(variant: str) -> tuple[Any, tuple[Any, ...], list[str]]:
    """The variant's eager module (weights seeded as the worker does) and export args."""
    import importlib

    import torch

    from cfexplore.models import VARIANTS
    from cfexplore.target.inputs import make_inputs
    from cfexplore.worker.loading import MODEL_SEED

    spec = VARIANTS[variant]
    mod_name, _, attr = spec.factory.partition(":")
    torch.manual_seed(MODEL_SEED)
    module = getattr(importlib.import_module(mod_name), attr)(**dict(spec.init)).eval()
    data = make_inputs(list(spec.inputs), 0)
    values = {k.name: k.default for k in spec.knobs}
    args, names = [], []
    import inspect

    for p in list(inspect.signature(type(module).forward).parameters)[1:]:
        names.append(p)
        args.append(torch.from_numpy(data[p]) if p in data else values[p])
    return module, tuple(args), names


@contextlib.contextmanager
def _fd1_discarded() -> Iterator[None]:
    """Discard what C++ code writes to fd 1 (verbose=True prints the graph there); the
    worker sends its fd 1 to a log file, so neither side pays for a terminal."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def bare_export(
    exporter: str, module: Any, args: tuple[Any, ...], names: list[str], out: Path
) -> None:
    """What cfexplore's worker does for `exporter`, minus its bookkeeping."""
    import torch

    with torch.no_grad(), _fd1_discarded():
        if exporter == "script":
            scripted = torch.jit.script(module)
            with contextlib.redirect_stdout(io.StringIO()):  # verbose=True, as cfexplore
                torch.onnx.export(
                    scripted,
                    args,
                    str(out),
                    dynamo=False,
                    opset_version=18,
                    input_names=names,
                    verbose=True,
                )
        else:
            # cfexplore forwards these progress lines to its UI: discard them here
            with contextlib.redirect_stdout(io.StringIO()):
                program = torch.onnx.export(
                    module, args, dynamo=True, opset_version=18, optimize=False
                )
                assert program is not None
                program.optimize()
                program.save(str(out))


def export(exporter: str, repeats: int) -> dict[str, Any]:
    """Session.export (wall time in the parent) vs the bare export, both warmed up once."""
    import logging
    import warnings

    from cfexplore.engine.session import Session
    from cfexplore.spec import TargetSpec

    with Session.open(TargetSpec(variant=EXPORT_VARIANT)) as session:
        assert session.export(exporter).ok  # warm-up (first export imports the exporter)
        cfx = []
        inside = []
        for _ in range(repeats):
            start = time.perf_counter()
            res = session.export(exporter)
            cfx.append(time.perf_counter() - start)
            inside.append(res.seconds)
        worker_rss = vm_hwm_mib(session.client.pid)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed"
    module, args, names = _module_and_args(EXPORT_VARIANT)
    floor = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = Path(tmp) / "bare.onnx"
        bare_export(exporter, module, args, names, out)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            bare_export(exporter, module, args, names, out)
            floor.append(time.perf_counter() - start)
    return {
        "variant": EXPORT_VARIANT,
        "exporter": exporter,
        "seconds": statistics.median(cfx),
        "worker_export_s": statistics.median(inside),
        "floor_s": statistics.median(floor),
        "worker_rss_mib": worker_rss,
        "floor_rss_mib": vm_hwm_mib(),
    }


if __name__ == "__main__":
    print(sweep(3))
    print(export("script", 3))
    print(export("dynamo", 2))
