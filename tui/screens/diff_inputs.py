"""The Diff screen's inputs: the editor dialog's rows for a lone .onnx file or a Python
model, the checks a plan must pass, and the table of a file run (ONNX Runtime vs the
reference evaluator). Kept apart from diff.py, which drives the PyTorch side."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from cfexplore.errors import CfxError
from cfexplore.render.report import diff_row
from cfexplore.results import FileRunResult
from cfexplore.spec import InputSpec
from cfexplore.target.feeds import FeedPlan, GraphInput, resolve
from cfexplore.termtext import safe_text

from .inputs import InputRow, InputsScreen

FILE_COLUMNS = ("output", "result", "ORT↔ref", "rel Δ", "outside", "type")
"""Columns for an .onnx file run alone: ONNX Runtime against the reference evaluator."""
FILE_HINT = (
    "A number: a constant (sr=16000). A shape: seeded values (1x512, 2x1x128:float32, "
    "1x8:int64:0..100). Empty: seeded, free dims 1. Remembered for this file."
)
MODEL_HINT = (
    "A shape as --input takes it (1x3x32x32, 1x8:int64:0..100); empty keeps the shape "
    "shown. Applying reloads the model with these inputs instead of example_inputs(); "
    "remembered for this file."
)


def file_dialog(label: str, declared: list[GraphInput], plan: FeedPlan) -> InputsScreen:
    """The editor for a lone .onnx file: every graph input, every symbolic dim."""
    rows = [InputRow(g.name, g.declared(), plan.inputs.get(g.name, "")) for g in declared]
    symbols: dict[str, int | None] = {}
    for g in declared:
        for sym in g.symbols:
            symbols.setdefault(sym, plan.dims.get(sym))

    def check(new: FeedPlan) -> str | None:
        try:
            resolve(declared, new)
        except CfxError as exc:
            return str(exc).removeprefix("--input ").removeprefix("--dim ")
        return None

    return InputsScreen(f"Inputs of {safe_text(label, 60)}", rows, symbols, check, FILE_HINT)


def model_specs(current: list[InputSpec], plan: FeedPlan) -> list[InputSpec]:
    """The model's tensor inputs with the plan's shapes applied (CfxError on a bad one)."""
    from cfexplore.target.targets import parse_input

    return [
        parse_input(f"{spec.name}={plan.inputs[spec.name]}") if spec.name in plan.inputs else spec
        for spec in current
    ]


def spec_text(spec: InputSpec) -> str:
    """An InputSpec as `--input` spells it after `NAME=`: `2x3:float32`, `1x8:int64:0..100`."""
    text = f"{'x'.join(map(str, spec.shape))}:{spec.dtype}"
    if spec.low is not None and spec.high is not None:
        text += f":{spec.low:g}..{spec.high:g}"
    return text


def model_dialog(label: str, current: list[InputSpec]) -> InputsScreen:
    """The editor for a Python model's tensor inputs (shapes, dtypes, ranges)."""
    rows = [
        InputRow(
            s.name,
            s.describe().partition(": ")[2],
            placeholder="x".join(map(str, s.shape)) or "scalar",
        )
        for s in current
    ]

    def check(new: FeedPlan) -> str | None:
        try:
            model_specs(current, new)
        except CfxError as exc:
            return str(exc).removeprefix("--input ")
        return None

    return InputsScreen(f"Inputs of {safe_text(label, 60)}", rows, {}, check, MODEL_HINT)


def fill_file_table(table: DataTable[Any], result: FileRunResult) -> None:
    """One row per output: ORT vs the reference, or ORT alone when the reference did not
    run, then a row per backend error."""
    for o in result.outputs:
        cells = diff_row(o)
        kind = f"{o.onnx_dtype}{o.onnx_shape}"
        table.add_row(cells[0], cells[1], cells[2], cells[5], cells[6], kind)
    if not result.outputs:
        for name, shape in zip(result.names, result.ort_shapes, strict=False):
            table.add_row(Text(safe_text(name, 80)), Text("ran", "green"), "-", "-", "-", shape)
    for who, _error in _errors(result):
        table.add_row(Text(who, "bold"), Text("failed (below)", "red"), "", "", "", "")


def _errors(result: FileRunResult) -> list[tuple[str, str]]:
    """(backend, error) for each backend that failed (a reference not run is no error)."""
    return [
        (who, error)
        for who, error in (
            ("ONNX Runtime", result.ort_error),
            ("reference", result.reference_error),
        )
        if error and not error.startswith("not run")
    ]


def file_status(result: FileRunResult) -> Text:
    """PASS/FAIL, timings, and what was fed as 1 (with the key that changes it)."""
    if result.plan_error:
        return Text.assemble(("inputs ", "bold red"), safe_text(result.plan_error), "  e edits")
    ok = result.passed and result.ort_error is None
    ort = "ORT failed" if result.ort_error else f"ORT {result.ort_ms:.1f} ms"
    status = Text.assemble(
        ("PASS " if ok else "FAIL ", "bold green" if ok else "bold red"),
        f"seed {result.seed} · {ort}",
    )
    if result.reference_error and result.reference_error.startswith("not run"):
        status.append(f" · reference {safe_text(result.reference_error, 80)}", "dim")
    elif not result.reference_error:
        status.append(f", reference {result.reference_ms:.1f} ms", "dim")
    if result.free_dims:
        status.append(
            f"  free dims fed as 1: {safe_text(', '.join(result.free_dims), 60)} — e edits",
            "yellow",
        )
    else:
        status.append("  e edits inputs", "dim")
    for who, error in _errors(result):
        status.append(f"\n{who}: ", "bold red")
        status.append(safe_text(error, 140))
    return status
