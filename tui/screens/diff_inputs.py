"""The Diff screen's inputs editor: the dialog's rows for a lone .onnx file or a Python
model, the checks a plan must pass, and the model's target with the inputs applied."""

from __future__ import annotations

from cfexplore.errors import CfxError
from cfexplore.spec import InputSpec, TargetSpec
from cfexplore.target.feeds import FeedPlan, GraphInput, resolve
from cfexplore.termtext import safe_text

from .inputs import InputRow, InputsScreen

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


def with_inputs(
    spec: TargetSpec, current: list[InputSpec], plan: FeedPlan
) -> tuple[TargetSpec, str]:
    """The target `spec` with the plan's input shapes applied, remembered for its file
    (every input, so the next open gets them all); and why they were not remembered, or
    empty."""
    from dataclasses import replace

    from cfexplore.target import inputstore

    specs = model_specs(current, plan)
    warning = ""
    if spec.path:
        whole = FeedPlan({}, {s.name: spec_text(s) for s in specs})
        try:
            inputstore.remember(spec.path, whole)
        except OSError as exc:
            warning = f"inputs not remembered: {exc.strerror or exc}"
    return replace(spec, inputs=tuple(specs)), warning
