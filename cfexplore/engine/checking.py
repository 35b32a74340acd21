"""`check`: export with each exporter, sweep every knob, decide the verdicts.

Each exporter gets its own answer (a failed export, one ONNX Runtime cannot load or one
that crashes the worker is that exporter's `failed`), and a target with no knobs is still
diffed at three seeds, so nothing passes silently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfexplore.analysis.reference import merge_traces
from cfexplore.analysis.verdicts import (
    KnobSweep,
    decide,
    failed_sentence,
    knob_problem,
    problem_sentence,
)
from cfexplore.engine.commands import command_for
from cfexplore.errors import Cancelled, CfxError, TimedOut, WorkerCrashed, WorkerError
from cfexplore.phases import Stalled, stalled
from cfexplore.results import (
    CheckReport,
    DiffResult,
    ExporterResult,
    ExportResult,
    KnobVerdict,
    SweepRow,
    diff_note,
)
from cfexplore.settings import RunSettings
from cfexplore.versions import versions
from cfexplore.worker.protocol import Eager, Sweep

if TYPE_CHECKING:
    from cfexplore.engine.session import Session  # noqa: F401

Progress = Callable[[float | None, str], None]


def _quiet(_frac: float | None, _msg: str) -> None:
    return None


class Checker:
    """One `check` run over a loaded Session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.spec = session.spec
        self.info = session.info
        self.client = session.client

    def export(
        self, exporter: str, settings: RunSettings, cancel: threading.Event | None
    ) -> ExportResult:
        return self.session.export(exporter, settings, cancel=cancel)

    def diff(
        self, exporter: str, settings: RunSettings, cancel: threading.Event | None
    ) -> DiffResult:
        return self.session.diff(exporter, settings, cancel)

    def check_values(self, values: dict[str, Any] | None) -> dict[str, Any]:
        return self.session.check_values(values)

    def run(
        self,
        exporters: Iterable[str],
        settings: RunSettings | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> CheckReport:
        """Export with each exporter at `settings` (None: `RunSettings()`) and sweep every
        knob: the verdict table.

        Each exporter gets its own answer: an export that fails, that ONNX Runtime cannot
        load, or that crashes the worker makes that exporter `failed` with a short reason,
        and the others still run. With no knobs, each export is still diffed at the export
        inputs and two more seeds (`baseline`), so a wrong export never passes silently.
        """
        progress = progress or _quiet
        exporters = list(exporters)
        settings = settings or RunSettings()
        ctx = settings.with_values(self.check_values(settings.values))
        knobs = self.info.knobs
        steps = max(1, len(exporters) * (1 + max(1, len(knobs))))
        done = 0
        results: list[ExporterResult] = []
        for exporter in exporters:
            progress(done / steps, f"{self.spec.label}: exporting with {exporter}")
            exp = self._export_for_check(exporter, ctx, cancel)
            done += 1
            verdicts: list[KnobVerdict] = []
            trace: dict[str, Any] = {}
            baseline = None
            if exp.ok and not knobs:
                progress(done / steps, f"{self.spec.label}: {exporter}: diffing (no knobs)")
                try:
                    baseline = self._baseline(exporter, exp, ctx, cancel)
                except Cancelled:
                    raise
                except CfxError as exc:
                    exp = _failed_export(exp, self._reason(exporter, exp, exc), exc.details)
                done += 1
            for knob in knobs:
                if exp.ok:
                    progress(done / steps, f"{self.spec.label}: {exporter}: sweeping {knob.name}")
                    try:
                        verdicts.append(self._sweep_knob(exporter, exp, knob, ctx, trace, cancel))
                    except Cancelled:
                        raise
                    except CfxError as exc:
                        # ORT cannot load the file, or the worker died running it: this
                        # exporter failed; the verdicts so far become `failed` too
                        exp = _failed_export(exp, self._reason(exporter, exp, exc), exc.details)
                        verdicts = [self._failed_verdict(exporter, exp, k, ctx) for k in knobs]
                        break
                else:
                    verdicts.append(self._failed_verdict(exporter, exp, knob, ctx))
                done += 1
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
                    branch_trace=trace,
                    baseline=baseline,
                )
            )
        progress(1.0, f"{self.spec.label}: done")
        only = exporters[0] if len(exporters) == 1 else None
        no_knobs = ""
        if not knobs:
            where = self.info.searched or "searched the target's knobs"
            no_knobs = f"no knobs found ({where}); compared outputs at seeds " + ", ".join(
                str(s) for s in _baseline_seeds(ctx.seed)
            )
        return CheckReport(
            target=self.spec.label,
            opset=ctx.opset,
            seed=ctx.seed,
            rtol=ctx.rtol,
            atol=ctx.atol,
            results=results,
            versions=versions(),
            command=command_for(self.spec, "check", only or "all", ctx),
            no_knobs=no_knobs,
        )

    def _export_for_check(
        self, exporter: str, ctx: RunSettings, cancel: threading.Event | None
    ) -> ExportResult:
        """Export; a worker that dies while exporting makes a failed result, not an abort."""
        try:
            return self.export(exporter, ctx, cancel)
        except Cancelled:
            raise
        except (WorkerCrashed, WorkerError) as exc:
            return ExportResult(
                exporter, ctx.opset, False, 0.0, error=str(exc), error_details=exc.details
            )

    @staticmethod
    def _reason(exporter: str, exp: ExportResult, exc: CfxError) -> str:
        """A short reason naming the export, not the worker's temp file."""
        text = str(exc)
        if exp.onnx_path:
            text = text.replace(exp.onnx_path, f"the {exporter} export")
            text = text.replace(Path(exp.onnx_path).name, f"the {exporter} export")
        if isinstance(exc, WorkerCrashed):
            return f"the worker crashed running the {exporter} export: {text}"
        return text

    def _failed_verdict(
        self, exporter: str, exp: ExportResult, knob: Any, ctx: RunSettings
    ) -> KnobVerdict:
        return KnobVerdict(
            **self._verdict_base(exporter, exp, knob, ctx),
            verdict="failed",
            explanation=failed_sentence(exporter, exp.error),
            max_abs_diff=None,
            onnx_has_input=False,
        )

    def _verdict_base(
        self, exporter: str, exp: ExportResult, knob: Any, ctx: RunSettings
    ) -> dict[str, Any]:
        return dict(
            name=knob.name,
            where=knob.where,
            construct=knob.construct,
            values=list(knob.values),
            export_value=exp.knob_values.get(knob.name, knob.default),
            graph_has_construct=exp.control_flow.get(knob.construct, 0) > 0,
            command=command_for(self.spec, "diff", exporter, ctx),
            source_file=(knob.file or self.info.source_file) if knob.line else None,
            source_line=knob.line,
        )

    def _sweep_knob(
        self,
        exporter: str,
        exp: ExportResult,
        knob: Any,
        ctx: RunSettings,
        trace: dict[str, Any],
        cancel: threading.Event | None,
    ) -> KnobVerdict:
        """Sweep one knob in the worker and decide its verdict."""
        base = self._verdict_base(exporter, exp, knob, ctx)
        rows: list[SweepRow]
        try:
            rows, has_input = self._sweep_call(exporter, knob.name, ctx, cancel, None)
        except (WorkerCrashed, TimedOut) as exc:
            # one value crashed the worker (PyTorch or ONNX Runtime) or never finished:
            # sweep value by value so that only that value is lost, not every verdict
            # (the value a time limit stopped is known from the last phase: not rerun)
            hung = stalled(self.client.last_progress) if isinstance(exc, TimedOut) else None
            rows, has_input = self._sweep_isolated(
                exporter, knob, base["export_value"], ctx, cancel, hung
            )
        for row in rows:
            merge_traces(trace, row.trace)
        failing = next((r for r in rows if not r.passed and not r.torch_error), None)
        if failing is not None and failing.value != base["export_value"]:
            # reproduce the first failing value: same export, knob changed at run time
            base["command"] = command_for(
                self.spec, "diff", exporter, ctx, {knob.name: failing.value}
            )
        return decide(KnobSweep(**base, exporter=exporter, rows=rows, onnx_has_input=has_input))

    def _sweep_call(
        self,
        exporter: str,
        knob: str,
        ctx: RunSettings,
        cancel: threading.Event | None,
        only: list[Any] | None,
    ) -> tuple[list[SweepRow], bool]:
        self.session._ensure_loaded(cancel)
        if exporter not in self.session.exports:  # the worker restarted: export again
            exp = self.export(exporter, ctx, cancel)
            if not exp.ok:
                raise CfxError(f"the {exporter} export failed on a restarted worker: {exp.error}")
        result = self.client.call(
            Sweep(exporter, knob, ctx, only),
            None,
            cancel,
            self.session.timeout,  # for each side of each value (the sweep says each)
            timeout_per_phase=True,
        )
        return result

    def _sweep_isolated(
        self,
        exporter: str,
        knob: Any,
        export_value: Any,
        ctx: RunSettings,
        cancel: threading.Event | None,
        hung: Stalled | None = None,
    ) -> tuple[list[SweepRow], bool]:
        """The sweep one value at a time; a value that crashes the worker becomes a row
        that says whether PyTorch alone crashes there (then it is skipped, as a value
        PyTorch raises at) or ONNX Runtime does (then the ONNX side failed there)."""
        rows: list[SweepRow] = []
        has_input = False
        values = list(knob.values)
        if export_value not in values:
            values.insert(0, export_value)
        for value in values:
            if hung is not None and hung.at == f"{knob.name}={value!r}" and hung.side:
                rows.append(self._timeout_row(knob.name, value, hung))
                continue
            try:
                got, fed = self._sweep_call(exporter, knob.name, ctx, cancel, [value])
            except WorkerCrashed as exc:
                rows.append(self._crash_row(knob.name, value, ctx, cancel, exc))
                continue
            except TimedOut:
                rows.append(self._timeout_row(knob.name, value, stalled(self.client.last_progress)))
                continue
            has_input = has_input or fed
            rows.extend(r for r in got if r.value == value)
        return rows, has_input

    def _timeout_row(self, knob: str, value: Any, where: Stalled) -> SweepRow:
        """The row of a value whose run outlived the time limit, blamed on the side that
        was running (PyTorch: a value PyTorch cannot run, skipped like one it raises at)."""
        text = Stalled(where.side, f"{knob}={value!r}").message(self.session.timeout)
        if where.torch_side:
            return SweepRow(value, False, None, None, torch_error=text)
        return SweepRow(value, False, None, None, onnx_error=text)

    def _crash_row(
        self,
        knob: str,
        value: Any,
        ctx: RunSettings,
        cancel: threading.Event | None,
        exc: WorkerCrashed,
    ) -> SweepRow:
        why = str(exc).split(" during ")[0]
        try:
            self.session._ensure_loaded(cancel)
            at = ctx.with_values({**(ctx.values or {}), knob: value})
            self.client.call(Eager(at), None, cancel, self.session.timeout)
        except (WorkerCrashed, TimedOut):
            return SweepRow(value, False, None, None, torch_error=f"PyTorch crashed: {why}")
        return SweepRow(value, False, None, None, onnx_error=f"ONNX Runtime crashed: {why}")

    def _baseline(
        self, exporter: str, exp: ExportResult, ctx: RunSettings, cancel: threading.Event | None
    ) -> KnobVerdict:
        """No knobs: diff at the export inputs and two more seeds, as one verdict."""
        rows: list[SweepRow] = []
        for s in _baseline_seeds(ctx.seed):
            d = self.diff(exporter, ctx.with_seed(s), cancel)
            rows.append(
                SweepRow(
                    s,
                    d.passed,
                    d.max_abs,
                    None,
                    d.torch_error,
                    d.onnx_error,
                    problem=d.problem,
                    note="" if d.passed else diff_note(d),
                )
            )
        bad = [r for r in rows if not r.passed]
        diffs = [r.max_abs for r in rows if r.max_abs is not None]
        worst = max(diffs) if diffs else None
        seeds = ", ".join(str(r.value) for r in rows)
        if bad:
            first = bad[0]
            size = f"max abs diff {worst:.3g}" if worst is not None else "no outputs compared"
            what = first.torch_error or first.onnx_error or first.note or size
            verdict = "mismatch"
            why = (
                f"ONNX differs from PyTorch at seed{'s' if len(bad) > 1 else ''} "
                f"{', '.join(str(r.value) for r in bad)} of {seeds} ({what})."
            )
        else:
            verdict = "preserved"
            why = f"ONNX matches PyTorch at seeds {seeds} (no knobs to sweep)."
        return KnobVerdict(
            name="(baseline)",
            where="",
            construct="",
            values=[r.value for r in rows],
            export_value=ctx.seed,
            verdict=verdict,
            explanation=why + problem_sentence(knob_problem(rows)),
            max_abs_diff=worst,
            onnx_has_input=False,
            graph_has_construct=False,
            rows=rows,
            command=command_for(self.spec, "diff", exporter, ctx),
            problem=knob_problem(rows),
        )


def _baseline_seeds(seed: int) -> list[int]:
    """The export inputs' seed and two more."""
    return [seed, seed + 1, seed + 2]


def _failed_export(exp: ExportResult, reason: str, details: str) -> ExportResult:
    """`exp` marked failed (the export worked but could not be run)."""
    return replace(exp, ok=False, error=reason, error_details=details)
