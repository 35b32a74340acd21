"""Worker-side engine: load a target, export it, run PyTorch and ONNX Runtime.

Runs inside the worker process only (see `cfexplore.worker.client`): it imports torch and user
code. It keeps the torch module and one ONNX Runtime session per exporter between
requests, so a second diff with a new seed rebuilds neither.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cfexplore.analysis.reference import AUTO_LIMIT_BYTES, TracingReference
from cfexplore.analysis.tolerance import Tolerances
from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error
from cfexplore.phases import PHASE_ORT, PHASE_REFERENCE, PHASE_TORCH
from cfexplore.results import (
    DiffResult,
    ExportResult,
    TargetInfo,
)
from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec
from cfexplore.target.datafiles import match_loaded, read_feeds, save_run_files
from cfexplore.worker.exporters import cf_counts
from cfexplore.worker.loading import Loaded
from cfexplore.worker.ort import RunTerminated, onnx_inputs, ort_dtype, session_options
from cfexplore.worker.outputs import (
    NotComparable,
    align,
    classify,
    compare_all,
    flatten_outputs,
    not_comparable,
    structure_note,
)

Progress = Callable[[float | None, str], None]


def _noop(_frac: float | None, _msg: str) -> None:
    return None


@dataclass
class ExportState:
    """An export the worker holds: its file and (lazily) its ORT session."""

    result: ExportResult
    session: Any = None
    reference: Any = None
    """TracingReference, built on first use."""
    input_types: dict[str, str] = field(default_factory=dict)
    reproducible: bool = False
    """Whether `session` was built with the reproducible options."""


class _LineWriter(io.TextIOBase):
    """A stdout stand-in that forwards whole lines to the progress callback."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._buf = ""

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            if line.strip():
                self._progress(None, line.strip())
        return len(s)


def _np_dtype(name: str) -> Any:
    return np.bool_ if name == "bool" else np.dtype(name)


class Runtime:
    """The worker's state: one loaded target and its exports."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.loaded: Loaded | None = None
        self.exports: dict[str, ExportState] = {}
        self.stats = {"loads": 0, "module_builds": 0, "sessions": 0, "exports": 0, "diffs": 0}
        self._torch_cache: dict[tuple[Any, ...], list[tuple[str, Any]]] = {}
        self._runs: set[Any] = set()
        """RunOptions of the ORT runs in flight (the cancel thread terminates them)."""

    # -- ONNX Runtime runs that can be cancelled ---------------------------------------

    def ort_run(self, session: Any, feeds: dict[str, Any]) -> list[Any]:
        """`session.run` with its own RunOptions, so a cancel can terminate it."""
        import onnxruntime as ort

        opts = ort.RunOptions()
        self._runs.add(opts)
        try:
            return list(session.run(None, feeds, opts))
        except Exception as exc:
            if opts.terminate:
                raise RunTerminated() from exc
            raise
        finally:
            self._runs.discard(opts)

    def terminate_runs(self) -> int:
        """Set `terminate` on every run in flight (called from the cancel thread)."""
        runs = list(self._runs)
        for opts in runs:
            opts.terminate = True
        return len(runs)

    # -- requests -------------------------------------------------------------------

    def load(self, spec: TargetSpec, progress: Progress = _noop) -> TargetInfo:
        progress(0.1, "importing torch")
        import torch  # noqa: F401

        progress(0.5, f"loading {spec.label}")
        self.loaded = Loaded.from_spec(spec)
        self.exports.clear()
        self._torch_cache.clear()
        self.stats["loads"] += 1
        self.stats["module_builds"] += self.loaded.builds
        return self.loaded.info()

    def need(self) -> Loaded:
        if self.loaded is None:
            raise CfxError("no target loaded")
        return self.loaded

    def export(
        self, exporter: str, settings: RunSettings, progress: Progress = _noop
    ) -> ExportResult:
        """Export with `exporter` at `settings.values` and `settings.opset`; the ONNX file
        lands in the worker's folder."""
        tgt = self.need()
        vals = tgt.resolve(settings.values)
        opset = settings.opset
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in tgt.spec.label)[-60:]
        path = Path(self.workdir) / f"{safe}.{exporter}.onnx"
        self.exports.pop(exporter, None)
        caught: list[warnings.WarningMessage] = []
        start = time.perf_counter()
        progress(0.05, f"{exporter}: exporting {tgt.spec.label}")
        try:
            with (
                warnings.catch_warnings(record=True) as caught,
                contextlib.redirect_stdout(_LineWriter(progress)),
            ):
                warnings.simplefilter("always")
                unoptimized = self._export(tgt, exporter, opset, vals, path)
        except Exception as exc:
            return ExportResult(
                exporter,
                opset,
                False,
                time.perf_counter() - start,
                warnings=_dedupe(caught),
                error=short_error(exc),
                error_details=full_text(exc),
                knob_values=vals,
            )
        seconds = time.perf_counter() - start
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        result = ExportResult(
            exporter,
            opset,
            True,
            seconds,
            onnx_path=str(path),
            size_bytes=path.stat().st_size,
            warnings=_dedupe(caught),
            control_flow=cf_counts(model),
            onnx_inputs=[i.name for i in model.graph.input],
            knob_values=vals,
            unoptimized_control_flow=unoptimized,
        )
        self.stats["exports"] += 1
        self.exports[exporter] = ExportState(result)
        progress(1.0, f"{exporter}: done in {seconds:.2f}s")
        return result

    def _export(
        self, tgt: Loaded, exporter: str, opset: int, vals: dict[str, Any], path: Path
    ) -> dict[str, int] | None:
        """Write the export to `path` (atomically); for dynamo, return the If/Loop/Scan
        counts before `ONNXProgram.optimize()`."""
        from cfexplore.worker.exporters import export_to

        data = tgt.tensors(0, vals)
        try:
            with tgt.attrs_set(vals):
                return export_to(
                    exporter, tgt.module, tgt.sig, tgt.call_values(data, vals), path, opset
                )
        finally:
            tgt.module.eval()  # an exporter that leaves a mode behind must not change eager

    def session_for(self, exporter: str, reproducible: bool = False) -> ExportState:
        """The export's ONNX Runtime session, built on first use (again when the run asks
        for other session options: `reproducible`)."""
        state = self.exports.get(exporter)
        if state is None:
            raise CfxError(f"no successful {exporter} export to run")
        if state.session is not None and state.reproducible != reproducible:
            state.session = None
        if state.session is None:
            import onnxruntime as ort

            opts = session_options(reproducible)
            state.reproducible = reproducible
            path = state.result.onnx_path or ""
            try:
                state.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            except Exception as exc:
                raw = str(exc)
                reason = raw.split(" failed:", 1)[1] if " failed:" in raw else raw
                text = reason.replace(path, f"the {exporter} export").strip()[:160]
                raise CfxError(
                    f"ONNX Runtime cannot load the {exporter} export: {text}", full_text(exc)
                ) from exc
            state.input_types = {i.name: i.type for i in state.session.get_inputs()}
            self.stats["sessions"] += 1
        return state

    def torch_outputs(
        self, tgt: Loaded, seed: int, vals: dict[str, Any], loaded: dict[str, Any] | None = None
    ) -> tuple[list[tuple[str, Any]], float]:
        """PyTorch's outputs as named pytree leaves (cached per seed and knob values;
        `loaded` tensors replace seeded ones, uncached)."""
        import torch

        key = (seed, tuple(sorted((k, repr(v)) for k, v in vals.items())), bool(loaded))
        if key in self._torch_cache:
            return self._torch_cache[key], 0.0
        data = {**tgt.tensors(seed, vals), **(loaded or {})}
        start = time.perf_counter()
        with tgt.attrs_set(vals), torch.no_grad():
            out = tgt.call(data, vals)
        ms = (time.perf_counter() - start) * 1000
        leaves = flatten_outputs(out, keep_none=True)
        if len(self._torch_cache) > 64:
            self._torch_cache.clear()
        if not loaded:
            self._torch_cache[key] = leaves
        return leaves, ms

    def feeds(
        self, tgt: Loaded, state: ExportState, seed: int, vals: dict[str, Any], loaded: Any = None
    ) -> tuple[dict[str, np.ndarray], list[str]]:
        """The ONNX inputs for a run, and the knob names the graph takes as inputs."""
        data = {**tgt.tensors(seed, vals), **(loaded or {})}
        feeds: dict[str, np.ndarray] = {}
        fed: list[str] = []
        for name, typ in state.input_types.items():
            if name in data:
                feeds[name] = data[name].astype(ort_dtype(typ, data[name].dtype))
                for k in tgt.knobs:
                    if k.where == "tensor-data" and k.input == name:
                        fed.append(k.name)
            elif name in vals:
                if vals[name] is None:
                    raise CfxError(f"ONNX input {name!r} cannot be fed None")
                feeds[name] = np.array(vals[name], dtype=ort_dtype(typ, np.int64))
                fed.append(name)
            else:
                raise CfxError(f"ONNX input {name!r} matches no forward() parameter or knob")
        return feeds, fed

    def _reference(self, state: ExportState, enabled: bool | None) -> Any:
        """The tracing ReferenceEvaluator for this export, or None when not wanted."""
        if enabled is None:
            enabled = state.result.size_bytes <= AUTO_LIMIT_BYTES
        if not enabled:
            return None
        if state.reference is None:
            import onnx

            assert state.result.onnx_path is not None  # a reference exists only for an export
            state.reference = TracingReference(onnx.load(state.result.onnx_path))
        return state.reference

    def diff(self, exporter: str, settings: RunSettings, progress: Progress = _noop) -> DiffResult:
        """Run PyTorch, ONNX Runtime and (unless `reference` is False) the reference
        evaluator on the seeded inputs, and diff every output three ways.

        `settings.reference=None` runs the evaluator for models up to AUTO_LIMIT_BYTES. Each phase
        is announced through `progress` (`PHASE_*`): a run stopped by a time limit can then
        say which side never finished.
        """
        import onnxruntime as ort

        self.stats["diffs"] += 1
        seed, rtol, atol = settings.seed, settings.rtol, settings.atol
        tgt = self.need()
        vals = tgt.resolve(settings.values)
        state = self.session_for(exporter, settings.reproducible)
        result = DiffResult(
            target=tgt.spec.label,
            exporter=exporter,
            opset=state.result.opset,
            seed=seed,
            rtol=rtol,
            atol=atol,
            knob_values=vals,
            outputs=[],
            passed=False,
            providers=list(state.session.get_providers()),
            available_providers=list(ort.get_available_providers()),
        )
        leaves: list[tuple[str, Any]] = []
        got: list[Any] = []
        loaded = None
        if settings.files.load_inputs:  # CfxError (one line) when they do not fit the model
            seeded, _fed = self.feeds(tgt, state, seed, vals)
            tensors = set(tgt.tensors(seed, vals))
            loaded = match_loaded(read_feeds(settings.files.load_inputs), seeded, tensors)
        try:
            progress(None, PHASE_TORCH)
            leaves, result.torch_ms = self.torch_outputs(tgt, seed, vals, loaded)
        except Exception as exc:
            result.torch_error = short_error(exc)
        try:
            progress(None, PHASE_ORT)
            feeds, result.onnx_fed = self.feeds(tgt, state, seed, vals, loaded)
        except CfxError as exc:
            result.onnx_error = str(exc)
            return result
        onnx_names = [o.name for o in state.session.get_outputs()]
        try:
            start = time.perf_counter()
            got = self.ort_run(state.session, feeds)  # arrays, or lists for sequences
            result.onnx_ms = (time.perf_counter() - start) * 1000
        except Exception as exc:
            result.onnx_error = short_error(exc)
        evaluator = self._reference(state, settings.reference)
        ref_out: list[Any] = []
        if evaluator is not None:
            result.reference_used = True
            progress(None, PHASE_REFERENCE)
            try:
                start = time.perf_counter()
                ref_out, trace = evaluator.run(feeds)
                result.reference_ms = (time.perf_counter() - start) * 1000
                result.trace = trace
            except Exception as exc:
                result.reference_error = short_error(exc)
        if result.torch_error or result.onnx_error:
            return result
        leaves = align(leaves, got)
        ref = [v for _, v in leaves if not isinstance(v, NotComparable)]
        odd = [(n, v) for n, v in leaves if isinstance(v, NotComparable)]
        names = [n for n, v in leaves if not isinstance(v, NotComparable)]
        names += onnx_names[len(names) :]
        tol = Tolerances.from_settings(settings)
        tol.check_names(names)
        save_run_files(settings.files, feeds, onnx_names, got)
        result.output_counts = [len(leaves), len(got)]
        result.structure = structure_note(leaves, odd, len(got))
        result.outputs = compare_all(names, ref, got, rtol, atol, tol=tol)
        result.outputs += not_comparable(odd, len(result.outputs))
        result.passed = bool(result.outputs) and all(o.passed for o in result.outputs)
        if result.reference_used and not result.reference_error:
            result.reference = compare_all(names, ref, ref_out, rtol, atol, tol=tol)
            result.reference += not_comparable(odd, len(result.reference))
            result.ort_vs_reference = compare_all(names, ref_out, got, rtol, atol, tol=tol)
            result.problem = classify(result)
        return result

    def run_onnx(
        self, path: str, feeds: dict[str, Any] | None = None, seed: int = 0
    ) -> tuple[list[str], list[Any], float]:
        """Run an ONNX file alone in ORT: given feeds, or seeded ones from its input types."""
        import onnx
        import onnxruntime as ort

        if feeds is None:
            feeds = onnx_inputs(onnx.load(path, load_external_data=False), seed)
        opts = session_options()
        session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.stats["sessions"] += 1
        start = time.perf_counter()
        outs = self.ort_run(session, feeds)
        ms = (time.perf_counter() - start) * 1000
        return [o.name for o in session.get_outputs()], outs, ms

    def eager(self, settings: RunSettings) -> int:
        """Run eager PyTorch alone (does this value crash it?); returns the leaf count."""
        tgt = self.need()
        leaves, _ms = self.torch_outputs(tgt, settings.seed, tgt.resolve(settings.values))
        return len(leaves)


def _dedupe(caught: list[warnings.WarningMessage]) -> list[str]:
    seen: dict[str, None] = {}
    for w in caught:
        first = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        seen.setdefault(f"{w.category.__name__}: {first}"[:300], None)
    return list(seen)


def default_workdir() -> str:
    return tempfile.mkdtemp(prefix="cfexplore-")
