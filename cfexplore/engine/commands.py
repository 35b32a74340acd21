"""The CLI command line that repeats a run: every result carries one (`command`)."""

from __future__ import annotations

import shlex
from typing import Any

from cfexplore.fmt import fmt_value
from cfexplore.spec import TargetSpec


def command_for(
    spec: TargetSpec,
    verb: str,
    exporter: str | None = None,
    opset: int | None = None,
    seed: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    values: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
) -> str:
    """The one-line `cfexplore` command that re-runs a result.

    `values` are knob values at export time (`--set`), `run` those changed after the
    export, at run time only (`--run`: how a frozen knob's failure is reproduced).
    """
    parts = ["cfexplore", verb]
    if spec.variant:
        parts.append(spec.variant)
    else:
        parts.append(spec.label)
        parts += [f"--init={k}={fmt_value(v)}" for k, v in spec.init.items()]
        for i in spec.inputs:
            shape = "x".join(map(str, i.shape))
            rng = f":{i.low:g}..{i.high:g}" if i.low is not None and i.high is not None else ""
            parts.append(f"--input={i.name}={shape}:{i.dtype}{rng}")
    for k, vals in spec.values.items():
        parts.append(f"--values={k}={','.join(fmt_value(v) for v in vals)}")
    if spec.weights:
        parts.append(f"--weights={spec.weights}")
    if exporter:
        parts += ["--exporter", exporter]
    if opset is not None:
        parts += ["--opset", str(opset)]
    if seed is not None:
        parts += ["--seed", str(seed)]
    parts += [f"--set={k}={fmt_value(v)}" for k, v in (values or {}).items()]
    parts += [f"--run={k}={fmt_value(v)}" for k, v in (run or {}).items()]
    if rtol is not None:
        parts += ["--rtol", f"{rtol:g}"]
    if atol is not None:
        parts += ["--atol", f"{atol:g}"]
    return shlex.join(parts)
