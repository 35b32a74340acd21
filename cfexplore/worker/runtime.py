"""Worker-side engine: load a target, export it, run PyTorch and ONNX Runtime.

Runs inside the worker process only (see `cfexplore.worker.client`): it imports torch and user
code. It keeps the torch module and one ONNX Runtime session per exporter between
requests, so a second diff with a new seed rebuilds neither.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cfexplore.analysis import diffing
from cfexplore.analysis.reference import AUTO_LIMIT_BYTES, TracingReference
from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error
from cfexplore.phases import PHASE_ORT, PHASE_REFERENCE, PHASE_TORCH
from cfexplore.results import (
    DiffResult,
    ExportResult,
    SweepRow,
    TargetInfo,
    ValidationResult,
    diff_note,
)
from cfexplore.spec import InputSpec, TargetSpec
from cfexplore.worker.loading import MODEL_SEED, Loaded, make_inputs  # noqa: F401 - re-exported
from cfexplore.worker.outputs import NotComparable, align, count_sentence, flatten_outputs

Progress = Callable[[float | None, str], None]


def _noop(_frac: float | None, _msg: str) -> None:
    return None


class RunTerminated(BaseException):  # noqa: N818 - not an error: a requested stop
    """An ONNX Runtime run stopped by `RunOptions.terminate` (the user cancelled).

    A BaseException so that the `except Exception` that records a run's error as a
    finding does not swallow it.
    """


@dataclass
class ExportState:
    """An export the worker holds: its file and (lazily) its ORT session."""

    result: ExportResult
    session: Any = None
    reference: Any = None
    """TracingReference, built on first use."""
    input_types: dict[str, str] = field(default_factory=dict)


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


def _is_torchscript_archive(path: Path) -> bool:
    """A zip holding `code/` or `constants.pkl`: a TorchScript archive (code, not data)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return any(
                "/code/" in n or n.endswith("/constants.pkl") or n == "constants.pkl"
                for n in zf.namelist()
            )
    except (zipfile.BadZipFile, OSError):
        return False


def load_weights(module: Any, path: str) -> None:
    """Load a state_dict into `module` with `torch.load(weights_only=True)`.

    weights_only unpickles tensors and plain containers only: a pickle that would import or
    call anything is refused, so a weights file is data, never code. A TorchScript archive
    is code (torch.jit.load runs it) and is refused here too.
    """
    import pickle

    import torch

    p = Path(path)
    if _is_torchscript_archive(p):
        raise CfxError(
            f"--weights {p.name}: a TorchScript archive is code, not weights; it is not "
            "loaded (save a state_dict: torch.save(model.state_dict(), path))"
        )
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = next((ln for ln in str(exc).splitlines() if "GLOBAL" in ln), "")
        why = f" ({first.strip()[:100]})" if first else ""
        raise CfxError(
            f"--weights {p.name}: refused: it holds more than tensors{why}", full_text(exc)
        ) from exc
    except Exception as exc:
        raise CfxError(
            f"--weights {p.name}: cannot read: {short_error(exc)}", full_text(exc)
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CfxError(f"--weights {p.name}: not a state_dict (a dict of tensor names to tensors)")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0] if lines else ""
        raise CfxError(
            f"--weights {p.name} does not fit {type(module).__name__}: {detail[:120]}", str(exc)
        ) from exc


REPRODUCIBLE_ENV = "CFEXPLORE_REPRODUCIBLE"
"""Set to 1 to run every ONNX Runtime session with `reproducible_session_options()`."""


def reproducible_session_options() -> Any:
    """ORT SessionOptions for bit-identical reruns: one intra- and one inter-op thread,
    sequential execution (no run-to-run variation from parallel reductions)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def session_options() -> Any:
    """The SessionOptions every session here uses: reproducible when REPRODUCIBLE_ENV=1."""
    import onnxruntime as ort

    if os.environ.get(REPRODUCIBLE_ENV, "") not in ("", "0"):
        return reproducible_session_options()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # ORT's pool must not spin between runs: the next thing this process does is a torch
    # forward on the same cores (and the app draws on them)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def onnx_inputs(model: Any, seed: int) -> dict[str, np.ndarray]:
    """Seeded inputs for a bare ONNX model from its graph input types (free dims = 1)."""
    from onnx import helper

    init = {i.name for i in model.graph.initializer}
    specs: list[InputSpec] = []
    for vi in model.graph.input:
        if vi.name in init:
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            raise CfxError(f"input {vi.name!r} is not a tensor; pass its value explicitly")
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type)).name
        shape = tuple(
            d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in tt.shape.dim
        )
        specs.append(InputSpec(vi.name, shape, dtype))
    return make_inputs(specs, seed)


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

    def handle(self, op: str, req: dict[str, Any], progress: Progress = _noop) -> Any:
        """Run one request by name (the worker's protocol, and the in-process client's)."""
        if op == "stats":
            return dict(self.stats)
        if op == "load":
            return self.load(req["spec"], progress)
        if op == "export":
            return self.export(req["exporter"], req["opset"], req.get("values"), progress)
        if op == "diff":
            return self.diff(
                req["exporter"],
                req["seed"],
                req.get("values"),
                req["rtol"],
                req["atol"],
                req.get("reference"),
                req.get("equal_nan", False),
                progress,
            )
        if op == "validate":
            return self.validate(req["path"])
        if op == "run_onnx":
            return self.run_onnx(req["path"], req.get("feeds"), req.get("seed", 0))
        if op == "analyse":
            from cfexplore.analysis.modelcheck import analyse_in_worker

            return analyse_in_worker(req["path"])
        if op == "infer_types":
            from cfexplore.graph.typeinfer import infer_in_worker

            return infer_in_worker(req["path"])
        if op == "file_inputs":
            from cfexplore.engine.filerun import inputs_in_worker

            return inputs_in_worker(req["path"])
        if op == "run_file":
            from cfexplore.engine.filerun import run_in_worker

            return run_in_worker(
                self,
                req["path"],
                req["plan"],
                req["seed"],
                req["rtol"],
                req["atol"],
                req.get("reference"),
                progress,
            )
        if op == "sweep":
            return self.sweep(
                req["exporter"],
                req["knob"],
                req["seed"],
                req["rtol"],
                req["atol"],
                req.get("reference"),
                req.get("equal_nan", False),
                req.get("only"),
                progress,
            )
        if op == "eager":
            progress(None, PHASE_TORCH)
            return self.eager(req["seed"], req.get("values"))
        raise CfxError(f"unknown worker request {op!r}")

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

    def _need(self) -> Loaded:
        if self.loaded is None:
            raise CfxError("no target loaded")
        return self.loaded

    def export(
        self,
        exporter: str,
        opset: int,
        values: dict[str, Any] | None = None,
        progress: Progress = _noop,
    ) -> ExportResult:
        """Export with `exporter`; the ONNX file lands in the worker's folder."""
        tgt = self._need()
        vals = tgt.resolve(values)
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

    def _session(self, exporter: str) -> ExportState:
        state = self.exports.get(exporter)
        if state is None:
            raise CfxError(f"no successful {exporter} export to run")
        if state.session is None:
            import onnxruntime as ort

            opts = session_options()
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

    def _torch_outputs(
        self, tgt: Loaded, seed: int, vals: dict[str, Any]
    ) -> tuple[list[tuple[str, Any]], float]:
        """PyTorch's outputs as named pytree leaves (cached per seed and knob values)."""
        import torch

        key = (seed, tuple(sorted((k, repr(v)) for k, v in vals.items())))
        if key in self._torch_cache:
            return self._torch_cache[key], 0.0
        data = tgt.tensors(seed, vals)
        start = time.perf_counter()
        with tgt.attrs_set(vals), torch.no_grad():
            out = tgt.call(data, vals)
        ms = (time.perf_counter() - start) * 1000
        leaves = flatten_outputs(out, keep_none=True)
        if len(self._torch_cache) > 64:
            self._torch_cache.clear()
        self._torch_cache[key] = leaves
        return leaves, ms

    def _feeds(
        self, tgt: Loaded, state: ExportState, seed: int, vals: dict[str, Any]
    ) -> tuple[dict[str, np.ndarray], list[str]]:
        """The ONNX inputs for a run, and the knob names the graph takes as inputs."""
        data = tgt.tensors(seed, vals)
        feeds: dict[str, np.ndarray] = {}
        fed: list[str] = []
        for name, typ in state.input_types.items():
            if name in data:
                feeds[name] = data[name].astype(_ort_dtype(typ, data[name].dtype))
                for k in tgt.knobs:
                    if k.where == "tensor-data" and k.input == name:
                        fed.append(k.name)
            elif name in vals:
                if vals[name] is None:
                    raise CfxError(f"ONNX input {name!r} cannot be fed None")
                feeds[name] = np.array(vals[name], dtype=_ort_dtype(typ, np.int64))
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

    def diff(
        self,
        exporter: str,
        seed: int,
        values: dict[str, Any] | None,
        rtol: float,
        atol: float,
        reference: bool | None = None,
        equal_nan: bool = False,
        progress: Progress = _noop,
    ) -> DiffResult:
        """Run PyTorch, ONNX Runtime and (unless `reference` is False) the reference
        evaluator on the seeded inputs, and diff every output three ways.

        `reference=None` runs the evaluator for models up to AUTO_LIMIT_BYTES. Each phase
        is announced through `progress` (`PHASE_*`): a run stopped by a time limit can then
        say which side never finished.
        """
        import onnxruntime as ort

        self.stats["diffs"] += 1

        tgt = self._need()
        vals = tgt.resolve(values)
        state = self._session(exporter)
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
        try:
            progress(None, PHASE_TORCH)
            leaves, result.torch_ms = self._torch_outputs(tgt, seed, vals)
        except Exception as exc:
            result.torch_error = short_error(exc)
        try:
            progress(None, PHASE_ORT)
            feeds, result.onnx_fed = self._feeds(tgt, state, seed, vals)
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
        evaluator = self._reference(state, reference)
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
        result.output_counts = [len(leaves), len(got)]
        result.structure = _structure_note(leaves, odd, len(got))
        result.outputs = _compare_all(names, ref, got, rtol, atol, equal_nan)
        result.outputs += _not_comparable(odd, len(result.outputs))
        result.passed = bool(result.outputs) and all(o.passed for o in result.outputs)
        if result.reference_used and not result.reference_error:
            result.reference = _compare_all(names, ref, ref_out, rtol, atol, equal_nan)
            result.reference += _not_comparable(odd, len(result.reference))
            result.ort_vs_reference = _compare_all(names, ref_out, got, rtol, atol, equal_nan)
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

    def validate(self, path: str) -> ValidationResult:
        """`onnx.checker.check_model(full_check=True)` and an ORT session for `path`.

        The file goes through the safe load pipeline first (external data locations are
        checked before anything reads them); the worker's memory limit bounds both steps.
        """
        import onnx
        import onnxruntime as ort

        from cfexplore.graph.safeload import load_model_safely
        from cfexplore.termtext import format_size, safe_text
        from cfexplore.worker.client import _memory_error, too_large_message

        start = time.perf_counter()
        result = ValidationResult(path)
        model = load_model_safely(path)
        from cfexplore.graph.budget import footprint
        from cfexplore.graph.typeinfer import INFER_MAX_SUBGRAPHS, too_many_subgraphs

        size = footprint(model)  # onnx's full check and ORT both inline per call
        crowded = not size.over and too_many_subgraphs(model)
        result.full_check = not (size.over or crowded)
        if size.over:
            result.check_note = "too big to infer"
        elif crowded:  # the full check's inference is quadratic in subgraphs (20k: minutes)
            result.check_note = f"over {INFER_MAX_SUBGRAPHS:,} subgraphs"
        try:
            onnx.checker.check_model(path, full_check=result.full_check)
        except Exception as exc:
            result.checker_error = short_error(exc)
            result.checker_details = full_text(exc)
        if size.over:
            result.size_error = (
                f"model too large: it {size.describe()} (checked without shape inference; "
                "no ONNX Runtime session tried)"
            )
        limit = _as_limit()
        biggest = _largest_tensor(model) if result.full_check else None
        if biggest is not None:
            name, dims, nbytes = biggest
            result.largest = f"{safe_text(name, 80)}: {dims} ({format_size(nbytes)})"
            if limit is not None and nbytes > limit:
                result.size_error = (
                    f"model too large: tensor '{safe_text(name, 48)}' would hold "
                    f"{format_size(nbytes)}, over the worker's {format_size(limit)} limit"
                )
        if result.size_error is None:  # otherwise no session could run it
            try:
                session = ort.InferenceSession(
                    path, session_options(), providers=["CPUExecutionProvider"]
                )
                result.inputs = [f"{i.name}: {i.type} {i.shape}" for i in session.get_inputs()]
                result.outputs = [f"{o.name}: {o.type} {o.shape}" for o in session.get_outputs()]
                del session
            except Exception as exc:
                result.session_details = full_text(exc)
                result.session_error = short_error(exc)
                if isinstance(exc, MemoryError) or _memory_error(result.session_details):
                    result.session_error = too_large_message(result.session_details, limit)
        result.seconds = time.perf_counter() - start
        return result

    def sweep(
        self,
        exporter: str,
        knob: str,
        seed: int,
        rtol: float,
        atol: float,
        reference: bool | None = None,
        equal_nan: bool = False,
        only: list[Any] | None = None,
        progress: Progress = _noop,
    ) -> tuple[list[SweepRow], bool]:
        """Diff at every value of `knob` (others at their export values); `only`: at these
        values only (and the export value).

        Returns the rows and whether the ONNX graph takes the knob as an input.
        """
        tgt = self._need()
        state = self._session(exporter)
        k = tgt.knob(knob)
        base = dict(state.result.knob_values)
        export_value = base[knob]
        progress(None, f"{knob}={export_value!r}: {PHASE_TORCH}")
        ref0, _ = self._torch_outputs(tgt, seed, base)
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
            path = self._eager_path(tgt, k, seed, vals) if k.mode == "drive" else None
            d = self.diff(exporter, seed, vals, rtol, atol, reference, equal_nan, phase)
            has_input = has_input or knob in d.onnx_fed
            changed = None
            if k.mode == "drive" and path is not None and d.torch_error is None:
                changed = bool(paths) and path != paths[0]
            elif d.torch_error is None and value != export_value:
                phase(None, PHASE_TORCH)
                ref, _ = self._torch_outputs(tgt, seed, vals)
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

    def eager(self, seed: int, values: dict[str, Any] | None) -> int:
        """Run eager PyTorch alone (does this value crash it?); returns the leaf count."""
        tgt = self._need()
        leaves, _ms = self._torch_outputs(tgt, seed, tgt.resolve(values))
        return len(leaves)

    def _eager_path(self, tgt: Loaded, k: Any, seed: int, vals: dict[str, Any]) -> str | None:
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


def _largest_tensor(model: Any) -> tuple[str, list[int], int] | None:
    """The biggest tensor whose shape ONNX shape inference (with data propagation) pins
    down, as (name, dims, bytes); None when no shape is fully known."""
    import onnx
    from onnx import helper

    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:
        inferred = model
    g = inferred.graph
    best: tuple[str, list[int], int] | None = None
    for vi in (*g.input, *g.value_info, *g.output):
        t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if t is None or not t.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        if any(d < 0 for d in dims):
            continue
        try:
            itemsize = helper.tensor_dtype_to_np_dtype(t.elem_type).itemsize
        except Exception:
            itemsize = 1
        nbytes = itemsize * int(np.prod(dims, dtype=object)) if dims else itemsize
        if best is None or nbytes > best[2]:
            best = (vi.name, dims, nbytes)
    return best


def _as_limit() -> int | None:
    """This process's address-space limit in bytes, if one is set."""
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def cf_counts(model: Any) -> dict[str, int]:
    """If/Loop/Scan totals, the three counts export results report."""
    from cfexplore.analysis.audit import count_control_flow

    counts = count_control_flow(model)
    return {op: counts.get(op, 0) for op in ("If", "Loop", "Scan")}


def _compare_all(
    names: list[str],
    ref: list[Any],
    got: list[Any],
    rtol: float,
    atol: float,
    equal_nan: bool = False,
) -> list[Any]:
    """diffing.compare for each output position (a missing side is reported, not dropped).

    Outputs are compared as given: sequences (lists) element-wise, `None` (an empty
    optional) as a value; NaN equals NaN only with `equal_nan` (as Polygraphy).
    """
    out = []
    for i in range(max(len(ref), len(got))):
        r = ref[i] if i < len(ref) else diffing.MISSING
        g = got[i] if i < len(got) else diffing.MISSING
        name = names[i] if i < len(names) else f"output{i}"
        out.append(diffing.compare(i, name, r, g, rtol, atol, equal_nan=equal_nan))
    return out


def same_leaves(
    a: list[tuple[str, Any]], b: list[tuple[str, Any]], rtol: float, atol: float
) -> bool:
    """Whether two PyTorch results agree: the same number of leaves, values within
    tolerance (a ModelOutput and the tuple of the same tensors agree: ONNX cannot tell the
    container apart); two leaves that cannot be compared agree when of the same type."""
    if len(a) != len(b):
        return False
    plain_a, plain_b = [], []
    for (_, x), (_, y) in zip(a, b, strict=True):
        if isinstance(x, NotComparable) or isinstance(y, NotComparable):
            if x != y:
                return False
            continue
        plain_a.append(x)
        plain_b.append(y)
    return diffing.same(plain_a, plain_b, rtol, atol)


def _not_comparable(odd: list[tuple[str, Any]], start: int) -> list[Any]:
    """A failing row per PyTorch output leaf that is not a tensor (reported by name)."""
    from cfexplore.results import TensorDiff

    return [
        TensorDiff(
            start + i,
            name,
            None,
            value.type_name,
            None,
            None,
            None,
            None,
            0,
            0,
            False,
            note=f"not comparable: PyTorch returns a {value.type_name}, not a tensor (no "
            "pytree registration flattens it)",
        )
        for i, (name, value) in enumerate(odd)
    ]


def _structure_note(leaves: list[tuple[str, Any]], odd: list[tuple[str, Any]], n_onnx: int) -> str:
    """In words: an output-count difference and the outputs that cannot be compared."""
    parts = []
    counted = count_sentence(len(leaves), n_onnx)
    if counted:
        parts.append(counted)
    if odd:
        what = ", ".join(f"{n} ({v.type_name})" for n, v in odd[:3])
        parts.append(f"not comparable: {what}")
    return "; ".join(parts)


def classify(result: DiffResult) -> str | None:
    """Where a disagreement comes from, by the three-way check.

    PyTorch differs from both ONNX backends -> `export`; the two ONNX backends disagree
    (or ONNX Runtime alone differs from PyTorch) -> `runtime`; all agree -> None.
    """
    ort_ok = result.passed
    ref_ok = bool(result.reference) and all(o.passed for o in result.reference)
    backends_agree = bool(result.ort_vs_reference) and all(
        o.passed for o in result.ort_vs_reference
    )
    if ort_ok and ref_ok:
        return None
    if not ort_ok and not ref_ok and backends_agree:
        return "export"
    return "runtime"


ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
}


def _ort_dtype(ort_type: str, fallback: Any) -> Any:
    return ORT_TYPES.get(ort_type, fallback)


def _dedupe(caught: list[warnings.WarningMessage]) -> list[str]:
    seen: dict[str, None] = {}
    for w in caught:
        first = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        seen.setdefault(f"{w.category.__name__}: {first}"[:300], None)
    return list(seen)


def default_workdir() -> str:
    return tempfile.mkdtemp(prefix="cfexplore-")
