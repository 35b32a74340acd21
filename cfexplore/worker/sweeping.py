"""A knob's sweep: diff at every value of one knob, and tell whether eager PyTorch's
output (or its branch, for a `drive` knob) changes with it."""

from __future__ import annotations

from typing import Any

from cfexplore.phases import PHASE_TORCH
from cfexplore.results import SweepRow, diff_note
from cfexplore.settings import RunSettings
from cfexplore.worker.loading import Loaded
from cfexplore.worker.outputs import align, same_leaves
from cfexplore.worker.runtime import Progress, Runtime


def _noop(_frac: float | None, _msg: str) -> None:
    return None


def sweep(
    rt: Runtime,
    exporter: str,
    knob: str,
    settings: RunSettings,
    only: list[Any] | None = None,
    progress: Progress = _noop,
) -> tuple[list[SweepRow], bool]:
    """Diff at every value of `knob` (others at their export values); `only`: at these
    values only (and the export value).

    Returns the rows and whether the ONNX graph takes the knob as an input.
    """
    tgt = rt.need()
    seed, rtol, atol = settings.seed, settings.rtol, settings.atol
    state = rt.session_for(exporter, settings.reproducible)
    k = tgt.knob(knob)
    base = dict(state.result.knob_values)
    export_value = base[knob]
    progress(None, f"{knob}={export_value!r}: {PHASE_TORCH}")
    ref0, _ = rt.torch_outputs(tgt, seed, base)
    rows: list[SweepRow] = []
    has_input = False
    paths: list[str | None] = []
    # the export value is always compared (`--values` or `--set` may leave it out)
    swept = k.values if export_value in k.values else (export_value, *k.values)
    if only is not None:
        swept = tuple(v for v in swept if v == export_value or v in only)
    for value in swept:
        vals = {**base, knob: value}

        def phase(frac: float | None, text: str, value: Any = value) -> None:
            progress(frac, f"{knob}={value!r}: {text}")

        phase(None, PHASE_TORCH)
        path = _eager_path(tgt, k, seed, vals) if k.mode == "drive" else None
        d = rt.diff(exporter, settings.with_values(vals), phase)
        has_input = has_input or knob in d.onnx_fed
        changed = None
        if k.mode == "drive" and path is not None and d.torch_error is None:
            changed = bool(paths) and path != paths[0]
        elif d.torch_error is None and value != export_value:
            phase(None, PHASE_TORCH)
            ref, _ = rt.torch_outputs(tgt, seed, vals)
            changed = not same_leaves(align(ref, None), align(ref0, None), rtol, atol)
        elif value == export_value:
            changed = False
        paths.append(path)
        ref_passed = (
            all(o.passed for o in d.reference) if d.reference_used and d.reference else None
        )
        rows.append(
            SweepRow(
                value,
                d.passed,
                d.max_abs,
                changed,
                d.torch_error,
                d.onnx_error,
                reference_passed=ref_passed,
                problem=d.problem,
                trace=d.trace,
                note="" if d.passed else diff_note(d),
                path=path,
            )
        )
        if k.mode == "drive" and len({p for p in paths if p}) >= 2 and len(rows) >= 2:
            break  # eager took both ways: enough to tell
    return rows, has_input


def _eager_path(tgt: Loaded, k: Any, seed: int, vals: dict[str, Any]) -> str | None:
    """The branch eager PyTorch takes at the knob's `if` for these inputs."""
    import torch

    from cfexplore.target.drive import traced_path

    if not k.file or not k.line:
        return None
    data = tgt.tensors(seed, vals)
    try:
        with tgt.attrs_set(vals), torch.no_grad():
            path, _ = traced_path(k.file, k.line, lambda: tgt.call(data, vals))
    except Exception:
        return None
    return path
