"""The Python API: check a model object you hold, in this process.

    from cfexplore import check

    report = check(model, (x, True))
    assert report.verdict("flag", "script") == "preserved"

`check` builds the same `CheckReport` the CLI prints as JSON. It runs in the caller's
process (no worker: the caller owns the model, and its code is already imported), so a
crash in an exporter is the caller's crash; the CLI is the isolated path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cfexplore.errors import CfxError
from cfexplore.results import (
    DEFAULT_ATOL,
    DEFAULT_OPSET,
    DEFAULT_RTOL,
    DEFAULT_SEED,
    EXPORTERS,
    CheckReport,
)
from cfexplore.settings import RunSettings
from cfexplore.worker.protocol import Request

R = TypeVar("R")

if TYPE_CHECKING:
    from cfexplore.worker.client import WorkerClient


class InProcessClient:
    """Stands in for `WorkerClient`: the same requests, run on a Runtime in this process."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.starts = 1
        self.memory_limit = None
        self.last_progress = ""

    def start(self) -> None:
        return None

    def call(
        self,
        request: Request[R],
        progress: Callable[[float | None, str], None] | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        *,
        timeout_per_phase: bool = False,
    ) -> R:
        from cfexplore.errors import Cancelled
        from cfexplore.worker.handlers import handle

        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{request.op} cancelled")
        return cast(R, handle(self.runtime, request, progress or (lambda _f, _m: None)))

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.runtime.workdir, ignore_errors=True)


def check(
    model: Any,
    args: Any = (),
    kwargs: dict[str, Any] | None = None,
    exporters: Iterable[str] = EXPORTERS,
    knobs: Iterable[str] | None = None,
    values: dict[str, Iterable[Any]] | None = None,
    seed: int = DEFAULT_SEED,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    opset: int = DEFAULT_OPSET,
    reference: bool | None = None,
    equal_nan: bool = False,
    progress: Callable[[float | None, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> CheckReport:
    """Export `model` with each exporter and sweep its knobs: the CLI's `check`, in-process.

    `args`/`kwargs` are forward()'s example arguments as you would pass them to
    `torch.onnx.export` (tensors, Python bools/ints — the knobs' export values — floats,
    None); `args` may also be a single tensor or `(args_tuple, kwargs_dict)`. `knobs`
    limits the sweep to these names (default: every knob found); `values` sets the values a
    knob's sweep tries (`{"sr": [8000, 16000]}`). The example tensors are used for the
    export and the first seed's diff as given; sweeps feed the same tensors.
    """
    from cfexplore.engine.session import Session
    from cfexplore.worker.loading import Loaded
    from cfexplore.worker.runtime import Runtime, default_workdir

    label = type(model).__name__
    runtime = Runtime(default_workdir())
    client = InProcessClient(runtime)
    try:
        loaded = Loaded.from_module(model, args, kwargs, label)
        loaded.first_seed = seed
        if values:
            loaded.spec.values.update({k: tuple(v) for k, v in values.items()})
            loaded.apply_value_overrides()
        if knobs is not None:
            wanted = list(knobs)
            known = {k.name for k in loaded.knobs}
            unknown = [k for k in wanted if k not in known]
            if unknown:
                raise CfxError(
                    f"unknown knob {unknown[0]!r} (knobs: {', '.join(sorted(known)) or 'none'})"
                )
            loaded.knobs = [k for k in loaded.knobs if k.name in wanted]
        runtime.loaded = loaded
        # a duck-typed stand-in: a check only calls call/start/close and reads last_progress
        session = Session(cast("WorkerClient", client), loaded.spec, loaded.info())
        settings = RunSettings(
            opset=opset, seed=seed, rtol=rtol, atol=atol, equal_nan=equal_nan, reference=reference
        )
        return session.check(exporters, settings, progress, cancel)
    finally:
        client.close()
