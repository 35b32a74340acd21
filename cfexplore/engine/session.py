"""Parent-side orchestration: sessions on worker processes, checks and the seed matrix.

Every function here takes an optional progress callback `progress(fraction, message)`
and a `threading.Event` for cancel; the CLI passes a fresh event, the TUI its worker's.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cfexplore.divergence import Divergence
from cfexplore.engine.commands import command_for
from cfexplore.errors import CfxError, TimedOut
from cfexplore.models import SEED_TABLE, SEED_TABLE_FULL, VARIANTS
from cfexplore.phases import Stalled
from cfexplore.results import (
    DEFAULT_OPSET,
    DEFAULT_SEED,
    EXPORTERS,
    CheckReport,
    DiffResult,
    ExportResult,
    TargetInfo,
    ValidationResult,
)
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec
from cfexplore.versions import versions
from cfexplore.worker.client import WorkerClient
from cfexplore.worker.limits import DEFAULT_ONNX_MEMORY_LIMIT
from cfexplore.worker.protocol import Diff, Export, Load, Locate, RunOnnx, Stats, Validate

Progress = Callable[[float | None, str], None]


def _quiet(_frac: float | None, _msg: str) -> None:
    return None


class Session:
    """One target loaded in one worker process; reuse it for repeated exports and diffs."""

    def __init__(
        self, client: WorkerClient, spec: TargetSpec, info: TargetInfo, owns_client: bool = True
    ) -> None:
        self.client = client
        self.spec = spec
        self.info = info
        self.owns_client = owns_client
        """False when the worker is shared (the app's warm worker for built-in variants):
        closing the session then leaves the process running for the next target."""
        self.exports: dict[str, ExportResult] = {}
        self._generation = client.starts
        client.holder = self
        self.timeout: float | None = None
        """Seconds any worker call may take — a reload, an export, a diff, each knob value
        of a sweep — before the worker is killed and the call fails (None: no limit)."""

    def _ensure_loaded(self, cancel: threading.Event | None = None) -> None:
        """Reload the target if its worker process was killed (cancel) or died, or if a
        shared worker has since loaded another session's target."""
        self.client.start()
        if self.client.starts != self._generation or self.client.holder is not self:
            self.info = self.client.call(Load(self.spec), None, cancel, self.timeout)
            self._generation = self.client.starts
            self.client.holder = self
            self.exports.clear()

    @classmethod
    def open(
        cls,
        spec: TargetSpec,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        client: WorkerClient | None = None,
        timeout: float | None = None,
    ) -> Session:
        """Start (or reuse) a worker and load `spec` in it."""
        own = client is None
        client = client or WorkerClient()
        try:
            info = client.call(Load(spec), progress, cancel, timeout)
        except BaseException:
            if own:
                client.close()
            raise
        return cls(client, spec, info, owns_client=own)

    def close(self) -> None:
        """Stop the worker, unless it is shared: then only let go of it."""
        if self.owns_client:
            self.client.close()
        elif self.client.holder is self:
            self.client.holder = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def knob_names(self) -> list[str]:
        return [k.name for k in self.info.knobs]

    def check_values(self, values: dict[str, Any] | None) -> dict[str, Any]:
        """Reject unknown knob names before anything is sent to the worker."""
        for name in values or {}:
            if name not in self.knob_names():
                known = ", ".join(self.knob_names()) or "none"
                raise CfxError(f"unknown knob {name!r} for {self.spec.label} (knobs: {known})")
        return dict(values or {})

    def export(
        self,
        exporter: str,
        settings: RunSettings | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportResult:
        """Export the target at `settings.opset` and `settings.values` (None:
        `RunSettings()`); failures come back as a result with a short error."""
        settings = settings or RunSettings()
        if exporter not in EXPORTERS:
            raise CfxError(f"unknown exporter {exporter!r} (one of {', '.join(EXPORTERS)})")
        self._ensure_loaded(cancel)
        try:
            settings = settings.with_values(self.check_values(settings.values))
            result = self.client.call(Export(exporter, settings), progress, cancel, self.timeout)
        except TimedOut as exc:
            # the worker was killed; the next request reloads the target
            result = ExportResult(
                exporter,
                settings.opset,
                False,
                self.timeout or 0.0,
                error=f"TimedOut: {exc}",
                error_details=str(exc),
            )
        if result.ok:
            self.exports[exporter] = result
        else:
            self.exports.pop(exporter, None)
        return result

    def diff(
        self,
        exporter: str,
        settings: RunSettings | None = None,
        cancel: threading.Event | None = None,
    ) -> DiffResult:
        """Seeded PyTorch vs ONNX Runtime (vs the reference evaluator) on the current export,
        at `settings.values` (None: `RunSettings()`; the export's opset is the one used).

        `settings.reference`: True/False forces the third backend on/off; None decides by
        model size.
        """
        settings = self._run_settings(exporter, settings, cancel)
        try:
            result = self.client.call(Diff(exporter, settings), None, cancel, self.timeout)
        except TimedOut:
            result = self._timed_out_diff(exporter, settings)
        result.versions = versions()
        result.command = self._rerun_command("diff", exporter, settings, result.opset)
        return result

    def locate(
        self,
        exporter: str,
        settings: RunSettings | None = None,
        cancel: threading.Event | None = None,
    ) -> Divergence:
        """Where the export first disagrees with eager PyTorch at `settings` (seed, knob
        values, tolerances): the first diverging ONNX value in topological order, with the
        node that made it, its PyTorch module and source line."""
        settings = self._run_settings(exporter, settings, cancel)
        found = self.client.call(Locate(exporter, settings), None, cancel, self.timeout)
        opset = self.exports[exporter].opset
        found.command = self._rerun_command("locate", exporter, settings, opset)
        return found

    def _run_settings(
        self, exporter: str, settings: RunSettings | None, cancel: threading.Event | None
    ) -> RunSettings:
        """The settings a run on `exporter`'s export goes with: the target loaded, the
        export made, every knob value checked and filled in."""
        settings = settings or RunSettings()
        self._ensure_loaded(cancel)
        if exporter not in self.exports:
            raise CfxError(f"export with {exporter} first")
        return settings.with_values(self.check_values(settings.values))

    def _rerun_command(self, verb: str, exporter: str, settings: RunSettings, opset: int) -> str:
        """The command that re-runs a run on an export: export at the non-default export
        values (`--set`), then run at the ones changed after it (`--run`)."""
        values = settings.values or {}
        exported = self.exports[exporter].knob_values
        defaults = {k.name: k.default for k in self.info.knobs}
        shown = replace(
            settings,
            opset=opset,
            values={k: v for k, v in exported.items() if defaults.get(k) != v},
        )
        run = {k: v for k, v in values.items() if exported.get(k) != v}
        return command_for(self.spec, verb, exporter, shown, run)

    def _timed_out_diff(self, exporter: str, settings: RunSettings) -> DiffResult:
        """The failed result of a diff that outlived `timeout`: which side never finished,
        at which knob values (the worker is gone; the next call reloads the target)."""
        from cfexplore.phases import stalled

        values = settings.values or {}
        where = stalled(self.client.last_progress)
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        text = Stalled(where.side, shown).message(self.timeout)
        exp = self.exports.get(exporter)
        return DiffResult(
            target=self.spec.label,
            exporter=exporter,
            opset=exp.opset if exp else DEFAULT_OPSET,
            seed=settings.seed,
            rtol=settings.rtol,
            atol=settings.atol,
            knob_values=dict(values),
            outputs=[],
            passed=False,
            torch_error=text if where.torch_side else None,
            onnx_error=None if where.torch_side else text,
        )

    def stats(self) -> dict[str, int]:
        """Worker counters: loads, module_builds, sessions, exports, diffs."""
        return self.client.call(Stats())

    def check(
        self,
        exporters: Iterable[str] = EXPORTERS,
        settings: RunSettings | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> CheckReport:
        """Export with each exporter at `settings` (None: `RunSettings()`) and sweep every
        knob: the verdict table (see `cfexplore.engine.checking`)."""
        from cfexplore.engine.checking import Checker

        return Checker(self).run(exporters, settings, progress, cancel)


def run_onnx_file(
    path: str,
    feeds: dict[str, Any] | None = None,
    seed: int = DEFAULT_SEED,
    client: WorkerClient | None = None,
    cancel: threading.Event | None = None,
) -> tuple[list[str], list[Any], float]:
    """Run an .onnx file alone in ONNX Runtime, in a worker process.

    Without `feeds`, inputs are generated from the seed and the graph's input types.
    Returns (output names, outputs, milliseconds).
    """
    if client is not None:
        return client.call(RunOnnx(str(path), feeds, seed), None, cancel)
    with WorkerClient(memory_limit=DEFAULT_ONNX_MEMORY_LIMIT) as own:
        return run_onnx_file(path, feeds, seed, own, cancel)


VALIDATE_TIMEOUT_S = 120.0
"""Default time limit for `validate_onnx_file` (checker + ORT session creation)."""


def validate_onnx_file(
    path: str,
    timeout: float | None = VALIDATE_TIMEOUT_S,
    memory_limit: int | None = DEFAULT_ONNX_MEMORY_LIMIT,
    client: WorkerClient | None = None,
    cancel: threading.Event | None = None,
) -> ValidationResult:
    """Run `onnx.checker` (full check) and create an ORT session for an untrusted file.

    Both run in a worker process with an address-space limit and a time limit, so a
    300-byte model that expands to a 2^40-element tensor ends in "model too large", and a
    model that makes the checker or ORT spin ends in a time-out; neither touches this
    process's memory. A file the safe loader refuses raises CfxError.
    """
    if client is None:
        with WorkerClient(memory_limit=memory_limit) as own:
            return validate_onnx_file(path, timeout, memory_limit, own, cancel)
    try:
        result = client.call(Validate(str(Path(path).resolve())), None, cancel, timeout)
    except TimedOut:
        result = ValidationResult(str(path), seconds=timeout or 0.0)
        result.session_error = f"TimedOut: checking the model took longer than {timeout:g}s"
        result.session_details = result.session_error
    return result


COLUMNS = ("class-attr", "instance-attr", "forward-arg")
"""The seed table's columns: where the control value lives."""


@dataclass
class MatrixCell:
    """One cell of the seed table: the verdicts of the variants that fill it."""

    entries: list[tuple[str, str, str]] = field(default_factory=list)
    """(variant, verdict, explanation), e.g. plain and Final class attributes."""


@dataclass
class MatrixReport:
    """The seed's If/Loop x placement table, per exporter, computed live."""

    exporters: list[str]
    cells: dict[str, dict[str, dict[str, MatrixCell]]]
    """exporter -> construct ("If"/"Loop") -> column -> cell."""
    reports: list[CheckReport]
    full_size: bool

    @property
    def bad(self) -> bool:
        return any(r.bad for r in self.reports)


def matrix(
    exporters: Iterable[str] = EXPORTERS,
    full_size: bool = False,
    settings: RunSettings | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_variant: Callable[[MatrixReport], None] | None = None,
) -> MatrixReport:
    """Run `check` at `settings` (None: `RunSettings()`) over the seed-table variants in
    one worker and fill the table.

    `on_variant` gets the table so far (a copy) after each variant, so a caller can show
    cells as they finish.
    """
    progress = progress or _quiet
    exporters = list(exporters)
    names = SEED_TABLE_FULL if full_size else SEED_TABLE
    cells = {
        e: {c: {col: MatrixCell() for col in COLUMNS} for c in ("If", "Loop")} for e in exporters
    }
    reports: list[CheckReport] = []
    with WorkerClient() as client:
        for i, name in enumerate(names):
            variant = VARIANTS[name]

            def sub(frac: float | None, msg: str, i: int = i) -> None:
                progress((i + (frac or 0.0)) / len(names), msg)

            session = Session.open(TargetSpec(variant=name), sub, cancel, client=client)
            report = session.check(exporters, settings, sub, cancel)
            reports.append(report)
            for res in report.results:
                knob = res.knobs[0]
                cells[res.exporter][variant.construct][variant.where].entries.append(
                    (name, knob.verdict, knob.explanation)
                )
            if on_variant is not None:
                on_variant(MatrixReport(exporters, copy.deepcopy(cells), list(reports), full_size))
    progress(1.0, "matrix done")
    return MatrixReport(exporters, cells, reports, full_size)
