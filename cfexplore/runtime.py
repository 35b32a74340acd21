"""Worker-side engine: load a target, export it, run PyTorch and ONNX Runtime.

Runs inside the worker process only (see `cfexplore.worker`): it imports torch and user
code. It keeps the torch module and one ONNX Runtime session per exporter between
requests, so a second diff with a new seed rebuilds neither.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import os
import sys
import tempfile
import time
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cfexplore import diffing
from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error
from cfexplore.models import get_variant
from cfexplore.reference import AUTO_LIMIT_BYTES, TracingReference
from cfexplore.results import (
    DiffResult,
    ExportResult,
    SweepRow,
    TargetInfo,
    ValidationResult,
)
from cfexplore.source import control_flow_lines, find_class, knob_constructs, knob_lines, parse_file
from cfexplore.spec import InputSpec, Knob, TargetSpec

Progress = Callable[[float | None, str], None]
MODEL_SEED = 0
"""Weights are initialised from this seed, once per load; the diff seed drives inputs."""


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


def make_inputs(specs: list[InputSpec], seed: int) -> dict[str, np.ndarray]:
    """Deterministic inputs from the seed: normal floats, small ints, random bools."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        if spec.dtype.startswith("float"):
            arr = rng.standard_normal(spec.shape).astype(spec.dtype)
        elif spec.dtype == "bool":
            arr = rng.random(spec.shape) > 0.5
        else:
            arr = rng.integers(0, 4, spec.shape).astype(spec.dtype)
        out[spec.name] = np.asarray(arr)
    return out


def _annotation_kind(ann: Any) -> str | None:
    if ann is bool or ann == "bool":
        return "bool"
    if ann is int or ann == "int":
        return "int"
    return None


def _sweep_values(default: Any) -> tuple[Any, ...]:
    """Bools: (False, True). Ints: {0, 1, 2, v, v+1} sorted (v is the export value)."""
    if isinstance(default, bool):
        return (False, True)
    return tuple(sorted({0, 1, 2, int(default), int(default) + 1}))


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


class Loaded:
    """A target in memory: the eager module, its knobs and how to feed it."""

    def __init__(self, spec: TargetSpec) -> None:
        import torch

        self.spec = spec
        self.example_inputs: Callable[[], Any] | None = None
        self._last_tensors: tuple[Any, dict[str, np.ndarray]] | None = None
        if spec.variant:
            variant = get_variant(spec.variant)
            if variant is None:
                raise CfxError(f"unknown variant {spec.variant!r}")
            mod_name, _, attr = variant.factory.partition(":")
            factory = getattr(importlib.import_module(mod_name), attr)
            self.init = dict(variant.init)
            self.description = variant.description
            self.class_name = attr
            self.source_file = inspect.getsourcefile(factory)
        else:
            assert spec.path and spec.class_name
            factory = self._import_user(spec.path, spec.class_name)
            self.init = dict(spec.init)
            self.description = (inspect.getdoc(factory) or "").split("\n", 1)[0]
            self.class_name = spec.class_name
            self.source_file = spec.path
        self.factory = factory
        torch.manual_seed(MODEL_SEED)
        try:
            self.module = factory(**self.init)
        except TypeError as exc:
            raise CfxError(f"cannot build {self.class_name}: {exc}") from exc
        if not isinstance(self.module, torch.nn.Module):
            raise CfxError(f"{self.class_name} is not a torch.nn.Module")
        if spec.weights:
            load_weights(self.module, spec.weights)
        self.module.eval()
        self.builds = 1
        sig = inspect.signature(type(self.module).forward)
        self.params = [p for p in sig.parameters if p != "self"]
        if spec.variant:
            self.knobs = list(variant.knobs)
            self.inputs = list(variant.inputs)
        else:
            self.knobs = self._discover_knobs(sig)
            self.inputs = self._user_inputs()
        self._attach_lines()
        self._original = {k.name: self.get_knob(k) for k in self.knobs if k.where.endswith("attr")}

    # -- loading --------------------------------------------------------------------

    def _import_user(self, path: str, class_name: str) -> Any:
        folder = str(Path(path).parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        mod_name = f"cfexplore_user_{abs(hash(path))}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise CfxError(f"{path}: cannot import")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except SystemExit as exc:
            raise CfxError(f"{path}: importing it called sys.exit({exc.code!r})") from exc
        except BaseException as exc:
            raise CfxError(f"{path}: raised on import: {short_error(exc)}", full_text(exc)) from exc
        cls = getattr(module, class_name, None)
        if cls is None:
            raise CfxError(f"{path}: no class {class_name!r}")
        self.example_inputs = getattr(module, "example_inputs", None)
        return cls

    def _discover_knobs(self, sig: inspect.Signature) -> list[Knob]:
        """forward() bool/int params, then bool/int instance and class attributes read in code."""
        import torch

        cls = type(self.module)
        try:
            hints = typing.get_type_hints(cls.forward)
        except Exception:
            hints = {}
        constructs: dict[str, str] = {}
        read_attrs: set[str] = set()
        try:
            node = find_class(parse_file(self.spec.path or ""), cls.__name__)
        except (OSError, SyntaxError):
            node = None
        if node is not None:
            constructs = knob_constructs(node)
            read_attrs = {n for names in control_flow_lines(node).values() for n in names}
        knobs: list[Knob] = []
        for name, p in sig.parameters.items():
            if name == "self":
                continue
            kind = _annotation_kind(hints.get(name, p.annotation))
            if kind is None:
                continue
            if p.default is not inspect.Parameter.empty:
                default = p.default
            else:
                default = False if kind == "bool" else 1
            knobs.append(self._knob(name, "forward-arg", default, constructs))
        base = set(vars(torch.nn.Module()))
        seen = {k.name for k in knobs}
        for name, value in vars(self.module).items():
            if name.startswith("_") or name in base or name in seen:
                continue
            if isinstance(value, bool | int) and name in read_attrs:
                knobs.append(self._knob(name, "instance-attr", value, constructs))
                seen.add(name)
        for klass in cls.__mro__:
            if klass is torch.nn.Module or not issubclass(klass, torch.nn.Module):
                break
            for name, value in vars(klass).items():
                if name.startswith("_") or name in seen:
                    continue
                if isinstance(value, bool | int) and name in read_attrs:
                    knobs.append(self._knob(name, "class-attr", value, constructs))
                    seen.add(name)
        return knobs

    @staticmethod
    def _knob(name: str, where: str, default: Any, constructs: dict[str, str]) -> Knob:
        construct = constructs.get(name) or ("If" if isinstance(default, bool) else "Loop")
        return Knob(name, where, _sweep_values(default), default, construct)  # type: ignore[arg-type]

    def _user_inputs(self) -> list[InputSpec]:
        """Tensor inputs: from --input, else from example_inputs(); defaults may be left out."""
        knob_names = {k.name for k in self.knobs if k.where == "forward-arg"}
        sig = inspect.signature(type(self.module).forward)
        tensor_params = [p for p in self.params if p not in knob_names]
        required = [
            p for p in tensor_params if sig.parameters[p].default is inspect.Parameter.empty
        ]
        given = {s.name: s for s in self.spec.inputs}
        unknown = set(given) - set(tensor_params)
        if unknown:
            raise CfxError(
                f"--input {sorted(unknown)[0]!r}: forward() has no such tensor parameter "
                f"(tensor parameters: {', '.join(tensor_params) or 'none'})"
            )
        if self.example_inputs is not None and not given:
            arrays = self._call_example_inputs(0)
            if len(arrays) < len(required) or len(arrays) > len(tensor_params):
                raise CfxError(
                    f"example_inputs() returned {len(arrays)} tensors; forward() takes "
                    f"{len(required)} to {len(tensor_params)} ({', '.join(tensor_params)})"
                )
            names = tensor_params[: len(arrays)]
            return [
                InputSpec(n, tuple(a.shape), str(a.dtype))
                for n, a in zip(names, arrays, strict=True)
            ]
        missing = [p for p in required if p not in given]
        if missing:
            raise CfxError(
                f"no example_inputs() in the file and no --input for forward() parameter "
                f"{missing[0]!r} (e.g. --input {missing[0]}=1x3x8x8)"
            )
        return [given[p] for p in tensor_params if p in given]

    def _call_example_inputs(self, seed: int) -> list[np.ndarray]:
        import torch

        assert self.example_inputs is not None
        torch.manual_seed(seed)
        try:
            got = self.example_inputs()
        except Exception as exc:
            raise CfxError(f"example_inputs() raised {short_error(exc)}", full_text(exc)) from exc
        if isinstance(got, torch.Tensor):
            got = (got,)
        if isinstance(got, dict):
            got = tuple(got.values())
        arrays = [t.detach().cpu().numpy() for t in got if isinstance(t, torch.Tensor)]
        if len(arrays) != len(tuple(got)):
            raise CfxError("example_inputs() must return a tensor, a tuple of tensors or a dict")
        return arrays

    def _attach_lines(self) -> None:
        self.control_lines: list[int] = []
        if not self.source_file:
            return
        try:
            node = find_class(parse_file(self.source_file), self.class_name)
        except (OSError, SyntaxError):
            node = None
        if node is None:
            return
        self.control_lines = list(control_flow_lines(node))
        found = knob_lines(node, [k.name for k in self.knobs])
        for i, k in enumerate(self.knobs):
            line = found.get(k.name)
            if line is None and k.where == "tensor-data" and self.control_lines:
                line = self.control_lines[0]
            self.knobs[i] = replace(k, line=line)

    def info(self) -> TargetInfo:
        return TargetInfo(
            label=self.spec.label,
            description=self.description,
            class_name=self.class_name,
            source_file=self.source_file,
            params=list(self.params),
            inputs=list(self.inputs),
            knobs=list(self.knobs),
            control_lines=self.control_lines,
        )

    # -- knobs and inputs ---------------------------------------------------------------

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        names = ", ".join(k.name for k in self.knobs) or "none"
        raise CfxError(f"unknown knob {name!r} (knobs: {names})")

    def resolve(self, values: dict[str, Any] | None) -> dict[str, Any]:
        """Every knob's value: the given ones (type-checked) over the defaults."""
        out = {k.name: k.default for k in self.knobs}
        for name, value in (values or {}).items():
            k = self.knob(name)
            if isinstance(k.default, bool):
                if not isinstance(value, bool):
                    raise CfxError(f"knob {name!r} takes true or false, got {value!r}")
            elif isinstance(k.default, int) and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise CfxError(f"knob {name!r} takes an integer, got {value!r}")
            out[name] = value
        return out

    def get_knob(self, k: Knob) -> Any:
        owner = type(self.module) if k.where == "class-attr" else self.module
        return getattr(owner, k.name)

    @contextlib.contextmanager
    def attrs_set(self, values: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Set attribute knobs on the eager module (class or instance), then restore."""
        touched = []
        try:
            for k in self.knobs:
                if k.where == "class-attr":
                    setattr(type(self.module), k.name, values[k.name])
                    touched.append(k)
                elif k.where == "instance-attr":
                    setattr(self.module, k.name, values[k.name])
                    touched.append(k)
            yield
        finally:
            for k in touched:
                owner = type(self.module) if k.where == "class-attr" else self.module
                setattr(owner, k.name, self._original[k.name])

    def tensors(self, seed: int, values: dict[str, Any]) -> dict[str, np.ndarray]:
        """Seeded tensor inputs with tensor-data knobs applied.

        The last result is kept: one diff asks for the same inputs on the PyTorch and the
        ONNX side (callers do not modify the arrays: torch.from_numpy / ORT only read them).
        """
        key = (seed, tuple(sorted((k, repr(v)) for k, v in values.items())))
        if self._last_tensors is not None and self._last_tensors[0] == key:
            return dict(self._last_tensors[1])
        data = self._make_tensors(seed, values)
        self._last_tensors = (key, data)
        return dict(data)

    def _make_tensors(self, seed: int, values: dict[str, Any]) -> dict[str, np.ndarray]:
        if self.example_inputs is not None and not self.spec.inputs and not self.spec.variant:
            arrays = self._call_example_inputs(seed)
            data = {s.name: a for s, a in zip(self.inputs, arrays, strict=False)}
        else:
            data = make_inputs(self.inputs, seed)
        for k in self.knobs:
            if k.where != "tensor-data" or k.input not in data:
                continue
            arr = data[k.input]
            if k.mode == "sign":
                data[k.input] = (np.abs(arr) * values[k.name]).astype(arr.dtype)
            elif k.mode == "fill":
                data[k.input] = np.full(arr.shape, values[k.name], dtype=arr.dtype)
        return data

    def args(self, data: dict[str, np.ndarray], values: dict[str, Any]) -> list[Any]:
        """forward() arguments in order: knob values and torch tensors.

        A parameter with neither (it has a default) ends the list; one after it that does
        have a value cannot be passed positionally, which is an input error.
        """
        import torch

        out: list[Any] = []
        skipped = None
        for p in self.params:
            if p not in data and p not in values:
                skipped = skipped or p
                continue
            if skipped:
                raise CfxError(f"forward() parameter {skipped!r} needs a value (use --input)")
            if p in data:
                out.append(torch.from_numpy(np.array(data[p], copy=True)))
            else:
                out.append(values[p])
        return out


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
        self.stats = {"loads": 0, "module_builds": 0, "sessions": 0, "exports": 0}
        self._torch_cache: dict[tuple, list[np.ndarray]] = {}
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
        self.loaded = Loaded(spec)
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
                warnings.catch_warnings(record=True) as caught,  # type: ignore[assignment]
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
            control_flow=_cf_counts(model),
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
        import torch

        before = None
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        data = tgt.tensors(0, vals)
        args = tuple(tgt.args(data, vals))
        with tgt.attrs_set(vals), torch.no_grad():
            if exporter == "script":
                scripted = torch.jit.script(tgt.module)
                # verbose=True keeps each node's source range in its doc_string (source
                # mapping); the graph dump it prints is discarded
                with contextlib.redirect_stdout(io.StringIO()):
                    torch.onnx.export(
                        scripted,
                        args,
                        str(tmp),
                        dynamo=False,
                        opset_version=opset,
                        input_names=[p for p in tgt.params if p in data or p in vals],
                        verbose=True,
                    )
            elif exporter == "trace":
                tensor_names = [p for p in tgt.params if p in data]
                bound = _bind(tgt.module, tgt.params, tensor_names, vals)
                tensors = tuple(a for a in args if isinstance(a, torch.Tensor))
                traced = torch.jit.trace(bound, tensors)
                with contextlib.redirect_stdout(io.StringIO()):
                    torch.onnx.export(
                        traced,
                        tensors,
                        str(tmp),
                        dynamo=False,
                        opset_version=opset,
                        input_names=tensor_names,
                        verbose=True,
                    )
            elif exporter == "dynamo":
                program = torch.onnx.export(
                    tgt.module, args, dynamo=True, opset_version=opset, optimize=False
                )
                assert program is not None
                # what optimisation folds away is an audit finding: count before and after
                before = _cf_counts(program.model_proto)
                program.optimize()
                program.save(str(tmp))
            else:
                raise CfxError(f"unknown exporter {exporter!r} (script, trace or dynamo)")
        os.replace(tmp, path)
        return before

    def _session(self, exporter: str) -> ExportState:
        state = self.exports.get(exporter)
        if state is None:
            raise CfxError(f"no successful {exporter} export to run")
        if state.session is None:
            import onnxruntime as ort

            opts = session_options()
            state.session = ort.InferenceSession(
                state.result.onnx_path, opts, providers=["CPUExecutionProvider"]
            )
            state.input_types = {i.name: i.type for i in state.session.get_inputs()}
            self.stats["sessions"] += 1
        return state

    def _torch_outputs(
        self, tgt: Loaded, seed: int, vals: dict[str, Any]
    ) -> tuple[list[np.ndarray], float]:
        import torch

        key = (seed, tuple(sorted(vals.items())))
        if key in self._torch_cache:
            return self._torch_cache[key], 0.0
        data = tgt.tensors(seed, vals)
        start = time.perf_counter()
        with tgt.attrs_set(vals), torch.no_grad():
            out = tgt.module(*tgt.args(data, vals))
        ms = (time.perf_counter() - start) * 1000
        arrays = [t.detach().cpu().numpy() for t in _flatten(out)]
        if len(self._torch_cache) > 64:
            self._torch_cache.clear()
        self._torch_cache[key] = arrays
        return arrays, ms

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
    ) -> DiffResult:
        """Run PyTorch, ONNX Runtime and (unless `reference` is False) the reference
        evaluator on the seeded inputs, and diff every output three ways.

        `reference=None` runs the evaluator for models up to AUTO_LIMIT_BYTES.
        """
        import onnxruntime as ort

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
        ref: list[np.ndarray] = []
        got: list[np.ndarray] = []
        names: list[str] = []
        try:
            ref, result.torch_ms = self._torch_outputs(tgt, seed, vals)
        except Exception as exc:
            result.torch_error = short_error(exc)
        feeds, result.onnx_fed = self._feeds(tgt, state, seed, vals)
        names = [o.name for o in state.session.get_outputs()]
        try:
            start = time.perf_counter()
            got = self.ort_run(state.session, feeds)  # arrays, or lists for sequences
            result.onnx_ms = (time.perf_counter() - start) * 1000
        except Exception as exc:
            result.onnx_error = short_error(exc)
        evaluator = self._reference(state, reference)
        ref_out: list[np.ndarray] = []
        if evaluator is not None:
            result.reference_used = True
            try:
                start = time.perf_counter()
                ref_out, trace = evaluator.run(feeds)
                result.reference_ms = (time.perf_counter() - start) * 1000
                result.trace = trace
            except Exception as exc:
                result.reference_error = short_error(exc)
        if result.torch_error or result.onnx_error:
            return result
        result.outputs = _compare_all(names, ref, got, rtol, atol, equal_nan)
        result.passed = bool(result.outputs) and all(o.passed for o in result.outputs)
        if result.reference_used and not result.reference_error:
            result.reference = _compare_all(names, ref, ref_out, rtol, atol, equal_nan)
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

        from cfexplore.safeload import GraphError, format_size, load_model_safely, safe_text
        from cfexplore.worker import _memory_error, too_large_message

        start = time.perf_counter()
        result = ValidationResult(path)
        try:
            model = load_model_safely(path)
        except GraphError as exc:
            raise CfxError(str(exc), exc.details) from exc
        try:
            onnx.checker.check_model(path, full_check=True)
        except Exception as exc:
            result.checker_error = short_error(exc)
            result.checker_details = full_text(exc)
        limit = _as_limit()
        biggest = _largest_tensor(model)
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
    ) -> tuple[list[SweepRow], bool]:
        """Diff at every value of `knob` (others at their export values).

        Returns the rows and whether the ONNX graph takes the knob as an input.
        """
        tgt = self._need()
        state = self._session(exporter)
        k = tgt.knob(knob)
        base = dict(state.result.knob_values)
        export_value = base[knob]
        ref0, _ = self._torch_outputs(tgt, seed, base)
        rows: list[SweepRow] = []
        has_input = False
        for value in k.values:
            vals = {**base, knob: value}
            d = self.diff(exporter, seed, vals, rtol, atol, reference, equal_nan)
            has_input = has_input or knob in d.onnx_fed
            changed = None
            if d.torch_error is None and value != export_value:
                ref, _ = self._torch_outputs(tgt, seed, vals)
                changed = not diffing.same(ref, ref0, rtol, atol)
            elif value == export_value:
                changed = False
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
                )
            )
        return rows, has_input


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


def _cf_counts(model: Any) -> dict[str, int]:
    """If/Loop/Scan totals, the three counts export results report."""
    from cfexplore.audit import count_control_flow

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


def _bind(module: Any, params: list[str], tensor_names: list[str], vals: dict) -> Any:
    """Wrap `module` as forward(*tensors), binding its non-tensor forward() arguments.

    torch.jit.trace only takes tensors, so a bool/int argument is fixed at its value.
    """
    import torch

    class Bound(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, *tensors: Any) -> Any:
            it = iter(tensors)
            return self.inner(*[next(it) if p in tensor_names else vals[p] for p in params])

    return Bound()


def _flatten(out: Any) -> list[Any]:
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, list | tuple):
        return [t for item in out for t in _flatten(item)]
    if isinstance(out, bool | int | float):
        return [torch.tensor(out)]
    return []


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
