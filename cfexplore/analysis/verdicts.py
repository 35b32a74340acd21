"""Decide a knob's survival verdict from its sweep, and say why in one sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cfexplore.results import KnobVerdict, SweepRow

MADE = {"script": "scripted", "trace": "traced", "dynamo": "exported with torch.export"}


def _v(value: Any) -> str:
    """Values as typed on the command line: true/false for bools."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class KnobSweep:
    """One knob swept under one exporter: everything `decide` judges."""

    name: str
    where: str
    construct: str
    values: list[Any]
    export_value: Any
    exporter: str
    rows: list[SweepRow]
    onnx_has_input: bool
    graph_has_construct: bool
    command: str = ""
    source_file: str | None = None
    source_line: int | None = None


def decide(sweep: KnobSweep) -> KnobVerdict:
    """The verdict for one knob under one exporter, with its explanation (the verdict's
    reason, where a runtime or export problem comes from, the frozen condition's line)."""
    verdict, why = _judge(sweep)
    problem = knob_problem(sweep.rows)
    diffs = [r.max_abs for r in sweep.rows if r.max_abs is not None]
    return KnobVerdict(
        name=sweep.name,
        where=sweep.where,
        construct=sweep.construct,
        values=list(sweep.values),
        export_value=sweep.export_value,
        verdict=verdict,
        explanation=why
        + problem_sentence(problem)
        + where_sentence(verdict, sweep.source_file, sweep.source_line),
        max_abs_diff=max(diffs) if diffs else None,
        onnx_has_input=sweep.onnx_has_input,
        graph_has_construct=sweep.graph_has_construct,
        rows=sweep.rows,
        command=sweep.command,
        problem=problem,
        source_file=sweep.source_file,
        source_line=sweep.source_line,
    )


def _judge(sweep: KnobSweep) -> tuple[str, str]:
    """(verdict, explanation) for one knob under one exporter.

    - mismatch: ONNX differs from PyTorch even at the export-time value;
    - no-effect: PyTorch's output is the same for every swept value;
    - preserved: ONNX matches PyTorch for every value;
    - frozen: ONNX matches only at the export-time value.
    (`failed`, the export itself failing, is decided before any sweep.)
    """
    name, construct, exporter = sweep.name, sweep.construct, sweep.exporter
    export_value, rows, where = sweep.export_value, sweep.rows, sweep.where
    onnx_has_input, graph_has_construct = sweep.onnx_has_input, sweep.graph_has_construct
    at_export = next((r for r in rows if r.value == export_value), None)
    if at_export is None or at_export.torch_error:
        why = at_export.torch_error if at_export else "export value not swept"
        return "mismatch", f"PyTorch could not run at the export-time value: {why}."
    if not at_export.passed:
        what = at_export.onnx_error or at_export.note or f"max abs diff {_fmt(at_export.max_abs)}"
        return (
            "mismatch",
            f"ONNX differs from PyTorch even at the export-time value "
            f"{name}={_v(export_value)} ({what}).",
        )
    usable = [r for r in rows if not r.torch_error]
    skipped = [r for r in rows if r.torch_error]
    note = _skipped_note(skipped)
    if not any(r.torch_changed for r in usable) and any(r.path for r in usable):
        took = usable[0].path
        tried = ", ".join(_v(r.value) for r in usable)
        return (
            "no-effect",
            f"eager PyTorch took the same path ({took}) at the {construct.lower()} for every "
            f"input tried ({tried}): the other branch could not be reached, so nothing can "
            f"be told about it.{note}",
        )
    if not any(r.torch_changed for r in usable):
        vals = ", ".join(_v(r.value) for r in usable)
        return (
            "no-effect",
            f"PyTorch's output is the same for {name} in {{{vals}}}: the knob changes nothing, "
            f"so the export cannot be told apart.{note}",
        )
    if all(r.passed for r in usable):
        if where == "tensor-data":
            how = f"the condition is computed from tensor data inside the graph ({construct})"
        elif onnx_has_input:
            how = f"the ONNX graph takes it as input {name!r}"
            how += f" and keeps the {construct}" if graph_has_construct else ""
        else:
            how = f"the ONNX graph computes the same result for every value of {name}"
        return "preserved", f"{how}; outputs match PyTorch for all {len(usable)} values.{note}"
    bad = [r for r in usable if not r.passed]
    vals = ", ".join(_v(r.value) for r in bad)
    worst = max((r.max_abs for r in bad if r.max_abs is not None), default=None)
    how_differ = next((r.note for r in bad if r.note), "") or f"max abs diff {_fmt(worst)}"
    made = MADE.get(exporter, "exported")
    if where == "instance-attr":
        why = (
            f"{name} is an instance attribute: its value ({_v(export_value)}) was fixed when "
            f"the model was {made}"
        )
    elif where == "class-attr":
        why = (
            f"{name} is a class attribute: its value ({_v(export_value)}) was fixed when the "
            f"model was {made}"
        )
    elif where == "forward-arg" and exporter == "trace":
        why = (
            f"{name} is a forward() argument, but trace recorded only the path taken for "
            f"{name}={_v(export_value)}"
        )
    elif where == "forward-arg" and exporter == "dynamo":
        why = (
            f"{name} is a forward() argument, but torch.export specialised the Python "
            f"{type(export_value).__name__} to {_v(export_value)}"
        )
    elif where == "tensor-data":
        took = next((r.path for r in usable if r.value == export_value and r.path), None)
        took = f" ({took})" if took else ""
        why = (
            f"the condition depends on tensor data, but the {exporter} export recorded only "
            f"the branch taken for the example input{took}"
        )
    else:
        why = f"{name} was fixed at {_v(export_value)} when the model was {made}"
    tail = (
        "the ONNX graph has no input for it"
        if not onnx_has_input and where != "tensor-data"
        else ""
    )
    if not graph_has_construct:
        tail += (", and " if tail else "the ONNX graph has ") + f"no {construct}"
    sentence = f"{why}; {tail}" if tail else why
    return (
        "frozen",
        f"{sentence}. Outputs differ at {name}={vals} ({how_differ}).{note}",
    )


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def failed_sentence(exporter: str, error: str | None) -> str:
    """The explanation carried by every knob of a failed export."""
    if error and error.startswith(("ONNX Runtime cannot load", "the worker crashed")):
        return error  # the export itself worked; the sentence says what failed
    return f"the {exporter} export failed: {error or 'unknown error'}"


def knob_problem(rows: list[SweepRow]) -> str | None:
    """`runtime` if any sample's ONNX backends disagreed, else `export` if PyTorch differed
    from both, else None (also None when the reference evaluator did not run)."""
    problems = {r.problem for r in rows if r.problem}
    if "runtime" in problems:
        return "runtime"
    return "export" if "export" in problems else None


def problem_sentence(problem: str | None) -> str:
    """A closing sentence naming where the disagreement lies (three-way check)."""
    if problem == "export":
        return (
            " Both ONNX Runtime and the ONNX reference evaluator differ from PyTorch: "
            "an export problem."
        )
    if problem == "runtime":
        return (
            " ONNX Runtime and the ONNX reference evaluator disagree with each other: "
            "a runtime problem."
        )
    return ""


def where_sentence(verdict: str, source_file: str | None, line: int | None) -> str:
    """For a frozen verdict, the source line of the condition that was frozen."""
    if verdict != "frozen" or not source_file or not line:
        return ""
    from pathlib import Path

    return f" The frozen condition is at {Path(source_file).name}:{line}."


def _skipped_note(skipped: list[SweepRow]) -> str:
    """Values PyTorch itself could not run: raised at, or never finished within the time
    limit (`--timeout`); both are skipped, not held against the export."""
    hung = [r for r in skipped if (r.torch_error or "").startswith("timed out")]
    raised = [r for r in skipped if r not in hung]
    parts = []
    if raised:
        parts.append(f"PyTorch raised at {', '.join(_v(r.value) for r in raised)}")
    if hung:
        values = ", ".join(_v(r.value) for r in hung)
        parts.append(f"PyTorch did not finish within the time limit at {values}")
    if not parts:
        return ""
    return f" {'; '.join(parts)}; those values were skipped."
