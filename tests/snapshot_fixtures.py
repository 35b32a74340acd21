"""Fixed, hand-built results for the snapshot tests: no worker process, no timings, no paths.

`FixedSession` stands in for `cfexplore.engine.session.Session`: it has the real `TargetInfo` of a
built-in variant and answers `export`, `diff` and `check` from a tiny rule book that mirrors
what the real exporters do to the seed table (a knob survives only as a forward() argument
under `script`; `script` cannot compile a plain class attribute). Every number in it is a
constant, so screens that re-run work on their own (the Diff screen does, 0.3 s after a
change) get the same answers on every machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper

from cfexplore.analysis.verdicts import KnobSweep, decide, failed_sentence
from cfexplore.engine.commands import command_for
from cfexplore.engine.session import COLUMNS, MatrixCell, MatrixReport
from cfexplore.models import SEED_TABLE, VARIANTS
from cfexplore.results import (
    EXPORTERS,
    CheckReport,
    DiffResult,
    ExporterResult,
    ExportResult,
    KnobVerdict,
    SweepRow,
    TargetInfo,
    TensorDiff,
)
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec

from .builders import tv

Progress = Callable[[float | None, str], None]

EXPORT_SECONDS = {"script": 0.19, "trace": 0.42, "dynamo": 1.87}
"""Fixed export durations (real ones vary from run to run)."""
SIZE_BYTES = 8334
PASS_DIFF = 2.384185791015625e-07
"""max |torch - onnx| when both take the same path (float rounding only)."""
FAIL_DIFF = {"If": 0.8337463140487671, "Loop": 0.2354736328125}
"""max |torch - onnx| when ONNX took the export-time path and PyTorch another."""
PASS_HISTOGRAM = [3, 0, 9, 4, 0, 0, 0, 0, 0, 0, 0]
FAIL_HISTOGRAM = [0, 0, 0, 0, 0, 0, 0, 2, 2, 12, 0]
SCRIPT_LINE = {"if-class-attr": 47, "loop-class-attr": 115}
"""zoo.py line of the `self.<knob>` the TorchScript compiler cannot resolve."""
VERSIONS = {"python": "3.11", "cfexplore": "0.1.0"}
WARNINGS = {
    "script": [
        "DeprecationWarning: `torch.jit.script` is deprecated. Please switch to "
        "`torch.compile` or `torch.export`.",
        "DeprecationWarning: You are using the legacy TorchScript-based ONNX export.",
    ],
    "trace": ["TracerWarning: Converting a tensor to a Python boolean might cause the trace "],
    "dynamo": [],
}


def fixed_info(variant: str) -> TargetInfo:
    """The `TargetInfo` a worker reports for built-in `variant` (minus its absolute path)."""
    v = VARIANTS[variant]
    params = [k.name for k in v.knobs if k.where == "forward-arg"] + [i.name for i in v.inputs]
    return TargetInfo(
        label=v.name,
        description=v.description,
        class_name=v.factory.partition(":")[2],
        source_file=None,  # the real one is absolute; no screen shows it for a variant
        params=params,
        inputs=list(v.inputs),
        knobs=list(v.knobs),
    )


def survives(where: str, exporter: str) -> bool:
    """Whether a knob living at `where` stays an ONNX input under `exporter`."""
    return where == "forward-arg" and exporter == "script"


class FixedSession:
    """A `Session` stand-in with fixed answers; nothing runs, nothing is timed."""

    def __init__(self, variant: str) -> None:
        self.spec = TargetSpec(variant=variant)
        self.info = fixed_info(variant)
        self.variant = VARIANTS[variant]
        self.exports: dict[str, ExportResult] = {}
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def _knob_survives(self, exporter: str) -> bool:
        return all(survives(k.where, exporter) for k in self.info.knobs)

    def export(
        self,
        exporter: str,
        settings: RunSettings | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportResult:
        """The fixed export: ok, or the short TorchScript error for a plain class attribute."""
        settings = settings or RunSettings()
        opset = settings.opset
        knob_values = {k.name: k.default for k in self.info.knobs} | dict(settings.values or {})
        name = self.spec.variant or ""
        if exporter == "script" and name in SCRIPT_LINE:
            knob = self.info.knobs[0].name
            error = (
                f"RuntimeError: Module '{self.info.class_name}' has no attribute "
                f"'{knob}' (at zoo.py:{SCRIPT_LINE[name]})"
            )
            self.exports.pop(exporter, None)
            return ExportResult(
                exporter=exporter,
                opset=opset,
                ok=False,
                seconds=0.01,
                warnings=WARNINGS[exporter][:1],
                error=error,
                error_details=f"Traceback (most recent call last):\n  ...\n{error}",
                knob_values=knob_values,
            )
        kept = self._knob_survives(exporter)
        control_flow = {"If": 0, "Loop": 0, "Scan": 0}
        if kept:
            control_flow[self.variant.construct] = 1
        inputs = [k.name for k in self.info.knobs if kept] + [i.name for i in self.info.inputs]
        result = ExportResult(
            exporter=exporter,
            opset=opset,
            ok=True,
            seconds=EXPORT_SECONDS[exporter],
            onnx_path=f"{name}.{exporter}.onnx",  # never opened: no screen shows the Graph
            size_bytes=SIZE_BYTES,
            warnings=list(WARNINGS[exporter]),
            control_flow=control_flow,
            onnx_inputs=inputs,
            knob_values=knob_values,
        )
        self.exports[exporter] = result
        return result

    def diff(
        self,
        exporter: str,
        settings: RunSettings | None = None,
        cancel: threading.Event | None = None,
    ) -> DiffResult:
        """PASS unless a knob moved away from its export value and the export froze it.

        The reference evaluator agrees with ONNX Runtime (a frozen knob: export problem)."""
        settings = settings or RunSettings()
        exported = self.exports[exporter]
        values = {k.name: exported.knob_values[k.name] for k in self.info.knobs} | dict(
            settings.values or {}
        )
        kept = self._knob_survives(exporter)
        moved = any(values[k] != exported.knob_values.get(k) for k in values)
        passed = kept or not moved
        total = 16
        output = TensorDiff(
            index=0,
            name="y",
            torch_shape=[1, total],
            torch_dtype="float32",
            onnx_shape=[1, total],
            onnx_dtype="float32",
            max_abs=PASS_DIFF if passed else FAIL_DIFF[self.variant.construct],
            max_rel=9.18688501910872e-06 if passed else 8.358973749286665,
            mismatches=0 if passed else total,
            total=total,
            passed=passed,
            histogram=list(PASS_HISTOGRAM if passed else FAIL_HISTOGRAM),
        )
        return DiffResult(
            target=self.spec.label,
            exporter=exporter,
            opset=exported.opset,
            seed=settings.seed,
            rtol=settings.rtol,
            atol=settings.atol,
            knob_values=values,
            outputs=[output],
            passed=passed,
            onnx_fed=[k.name for k in self.info.knobs if kept],
            providers=["CPUExecutionProvider"],
            available_providers=["CPUExecutionProvider"],
            torch_ms=0.0,  # shown as "cached"
            onnx_ms=0.4,
            versions=dict(VERSIONS),
            command=command_for(
                self.spec, "diff", exporter, replace(settings, opset=exported.opset, values=values)
            ),
            reference_used=True,
            reference=[replace(output)],
            ort_vs_reference=[
                replace(output, max_abs=PASS_DIFF, max_rel=0.0, mismatches=0, passed=True)
            ],
            reference_ms=1.5,
            problem=None if passed else "export",
        )

    def check(
        self,
        exporters: Iterable[str] = EXPORTERS,
        settings: RunSettings | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> CheckReport:
        """Verdicts from the real `decide()` over fixed sweep rows."""
        settings = settings or RunSettings()
        exporters = list(exporters)
        results = []
        for exporter in exporters:
            exp = self.export(exporter, settings)
            kept = self._knob_survives(exporter)
            verdicts = []
            for knob in self.info.knobs:
                base: dict[str, Any] = dict(
                    name=knob.name,
                    where=knob.where,
                    construct=knob.construct,
                    values=list(knob.values),
                    export_value=exp.knob_values[knob.name],
                    graph_has_construct=exp.control_flow.get(knob.construct, 0) > 0,
                    command=command_for(
                        self.spec,
                        "diff",
                        exporter,
                        settings.with_values({knob.name: exp.knob_values[knob.name]}),
                    ),
                )
                if not exp.ok:
                    why = failed_sentence(exporter, exp.error)
                    verdicts.append(
                        KnobVerdict(
                            **base,
                            verdict="failed",
                            explanation=why,
                            max_abs_diff=None,
                            onnx_has_input=False,
                        )
                    )
                    continue
                rows = []
                for value in knob.values:
                    same = value == base["export_value"]
                    ok = kept or same
                    rows.append(
                        SweepRow(
                            value=value,
                            passed=ok,
                            max_abs=PASS_DIFF if ok else FAIL_DIFF[knob.construct],
                            torch_changed=not same,
                        )
                    )
                sweep = KnobSweep(**base, exporter=exporter, rows=rows, onnx_has_input=kept)
                verdicts.append(decide(sweep))
            results.append(
                ExporterResult(
                    exporter=exporter,
                    status="ok" if exp.ok else "failed",
                    error=exp.error,
                    error_details=exp.error_details,
                    control_flow=exp.control_flow,
                    knobs=verdicts,
                    seconds=exp.seconds,
                    warnings=exp.warnings,
                )
            )
        only = exporters[0] if len(exporters) == 1 else "all"
        return CheckReport(
            target=self.spec.label,
            opset=settings.opset,
            seed=settings.seed,
            rtol=settings.rtol,
            atol=settings.atol,
            results=results,
            versions=dict(VERSIONS),
            command=command_for(self.spec, "check", only, settings),
        )


def fixed_matrix() -> MatrixReport:
    """The seed table over all exporters, filled from `FixedSession.check` like `matrix()`."""
    cells = {
        e: {c: {col: MatrixCell() for col in COLUMNS} for c in ("If", "Loop")} for e in EXPORTERS
    }
    reports = []
    for name in SEED_TABLE:
        report = FixedSession(name).check(EXPORTERS)
        reports.append(report)
        variant = VARIANTS[name]
        for res in report.results:
            knob = res.knobs[0]
            cells[res.exporter][variant.construct][variant.where].entries.append(
                (name, knob.verdict, knob.explanation)
            )
    return MatrixReport(list(EXPORTERS), cells, reports, full_size=False)


# --------------------------------------------------------------------------- ONNX model


def if_loop_model() -> onnx.ModelProto:
    """Relu, an If named `[/model/If]` whose branches read the outer `x`, then a Loop."""
    f = TensorProto.FLOAT
    then = helper.make_graph(
        [
            helper.make_node(
                "Constant", [], ["two"], name="two", value=helper.make_tensor("t", f, [], [2.0])
            ),
            helper.make_node("Mul", ["x", "two"], ["t_out"], name="/model/Mul"),
        ],
        "then",
        [],
        [tv("t_out")],
    )
    other = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e_out"], name="/model/Neg")], "else", [], [tv("e_out")]
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="/loop/cond"),
            helper.make_node("Add", ["v_in", "x"], ["v_out"], name="/loop/Add"),
        ],
        "body",
        [
            tv("i", TensorProto.INT64, []),
            tv("cond_in", TensorProto.BOOL, []),
            tv("v_in"),
        ],
        [tv("cond_out", TensorProto.BOOL, []), tv("v_out")],
    )
    nodes = [
        helper.make_node("Relu", ["x0"], ["x"], name="/model/Relu"),
        helper.make_node(
            "If", ["c"], ["y"], name="[/model/If]", then_branch=then, else_branch=other
        ),
        helper.make_node("Loop", ["M", "", "y"], ["z"], name="/model/Loop", body=body),
    ]
    graph = helper.make_graph(
        nodes,
        "main_graph",
        [
            tv("c", TensorProto.BOOL, []),
            tv("x0", f, [1, 3, 8, 8]),
            tv("M", TensorProto.INT64, []),
        ],
        [tv("z")],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="hand-built"
    )


def write_model(folder: Path) -> Path:
    """Save `if_loop_model()` as `folder/model.onnx` (the screens show only the basename)."""
    path = folder / "model.onnx"
    onnx.save(if_loop_model(), os.fspath(path))
    return path
