"""`locate` in the worker: run both sides with every value observable, find the first
ONNX value that disagrees with eager PyTorch (`analysis.locate`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cfexplore.analysis.locate import boundaries, locate_first, pairs
from cfexplore.divergence import Divergence
from cfexplore.errors import CfxError
from cfexplore.errortext import short_error
from cfexplore.phases import PHASE_ORT, PHASE_REFERENCE, PHASE_TORCH
from cfexplore.settings import RunSettings
from cfexplore.worker.observe import module_hooks, observe_bodies, observe_top_level
from cfexplore.worker.ort import session_options

if TYPE_CHECKING:
    from cfexplore.worker.runtime import Progress, Runtime


def locate(rt: Runtime, exporter: str, settings: RunSettings, progress: Progress) -> Divergence:
    """The first diverging ONNX value of `exporter`'s export at `settings` (seed, knob
    values, tolerances), with the last agreeing one before it."""
    import onnx
    import torch

    tgt = rt.need()
    vals = tgt.resolve(settings.values)
    state = rt.session_for(exporter, settings.reproducible)
    feeds, _fed = rt.feeds(tgt, state, settings.seed, vals)
    assert state.result.onnx_path is not None  # a session exists only for an export
    model = onnx.load(state.result.onnx_path)
    named = dict(tgt.module.named_modules())
    classes = {name: type(m).__name__ for name, m in named.items()}
    progress(None, PHASE_TORCH)
    data = tgt.tensors(settings.seed, vals)
    try:
        with module_hooks(tgt.module) as calls, tgt.attrs_set(vals), torch.no_grad():
            tgt.call(data, vals)
    except Exception as exc:
        raise CfxError(f"PyTorch failed: {short_error(exc)}") from exc
    progress(None, PHASE_ORT)
    try:
        observed = observe_top_level(model, feeds, session_options(settings.reproducible))
    except Exception as exc:
        raise CfxError(f"ONNX Runtime failed: {short_error(exc)}") from exc
    progress(None, PHASE_REFERENCE)
    note = ""
    try:
        observed.update(observe_bodies(model, feeds))
    except Exception as exc:  # top-level values still locate what they can
        note = f"values inside If/Loop bodies are not observed: {short_error(exc)}"
    bounds = boundaries(model, exporter, set(named))
    found, unmapped = pairs(bounds, calls, observed, [o.name for o in model.graph.output])
    loc = locate_first(bounds, found, classes, settings)
    if not found:
        note = note or "no ONNX value could be paired with a PyTorch module boundary"
    return Divergence(
        target=tgt.spec.label,
        exporter=exporter,
        seed=settings.seed,
        knob_values=_plain(vals),
        diverged=loc.first is not None,
        checked=loc.checked,
        first=loc.first,
        last_agreeing=loc.last_agreeing,
        outputs_differ=loc.outputs_differ,
        unmapped=unmapped,
        observed=sum(len(v) for v in observed.values()),
        note=note,
    )


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, bool | int | float | str) or v is None else repr(v)
        for k, v in values.items()
    }
