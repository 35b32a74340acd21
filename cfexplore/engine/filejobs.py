"""The Graph screen's two file jobs, run in a file worker: shape inference for a model too
big to infer in the app, and the analysis pass (tree summary, audit, warnings)."""

from __future__ import annotations

import threading

from cfexplore.analysis.modelcheck import ANALYSE_TIMEOUT_S, ModelAnalysis
from cfexplore.errors import CfxError
from cfexplore.graph.typeinfer import InferredTypes
from cfexplore.termtext import one_line
from cfexplore.worker.client import WorkerClient
from cfexplore.worker.protocol import Analyse, InferTypes


def infer_file(
    path: str,
    client: WorkerClient,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
) -> InferredTypes:
    """`path`'s inferred types from `client`'s worker; a failure or a time-out is an
    `error`, never an exception (types are a bonus)."""
    from cfexplore.errors import Cancelled, CfxError

    try:
        result: InferredTypes = client.call(InferTypes(path), None, cancel, timeout)
    except Cancelled:
        raise
    except CfxError as exc:
        return InferredTypes(error=one_line(f"shape inference failed: {exc}"))
    return result


def analyse_file(
    path: str, client: WorkerClient, cancel: threading.Event | None = None
) -> ModelAnalysis:
    """Run the analysis pass on `client`'s worker; a time-out or crash is a CfxError."""
    from cfexplore.errors import TimedOut

    try:
        result: ModelAnalysis = client.call(Analyse(path), None, cancel, ANALYSE_TIMEOUT_S)
    except TimedOut as exc:
        raise CfxError(f"auditing took longer than {ANALYSE_TIMEOUT_S:g}s: stopped") from exc
    return result
