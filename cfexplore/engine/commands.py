"""The CLI command line that repeats a run: every result carries one (`command`)."""

from __future__ import annotations

import shlex
from typing import Any

from cfexplore.fmt import fmt_value
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec


def command_for(
    spec: TargetSpec,
    verb: str,
    exporter: str | None = None,
    settings: RunSettings | None = None,
    changed: dict[str, Any] | None = None,
) -> str:
    """The one-line `cfexplore` command that re-runs a result.

    From `settings`: `--opset`, `--seed`, `--rtol`, `--atol`, and its `values` — knob
    values at export time (`--set`); `changed` are those changed after the export, at run
    time only (`--run`: how a frozen knob's failure is reproduced). `None`: `RunSettings()`.
    """
    settings = settings or RunSettings()
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
    parts += ["--opset", str(settings.opset), "--seed", str(settings.seed)]
    parts += [f"--set={k}={fmt_value(v)}" for k, v in (settings.values or {}).items()]
    parts += [f"--run={k}={fmt_value(v)}" for k, v in (changed or {}).items()]
    parts += ["--rtol", f"{settings.rtol:g}", "--atol", f"{settings.atol:g}"]
    parts += settings.extra_flags()
    if verb == "diff" and settings.files.load_inputs:
        parts += ["--load-inputs", settings.files.load_inputs]
    return shlex.join(parts)
