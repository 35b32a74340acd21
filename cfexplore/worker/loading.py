"""Load a target in the worker: build the module, bind its inputs, find its knobs.

A target is a built-in variant, a user file (`file.py:Class`), an importable
`package.module:callable`, or (Python API) a module object with its arguments. Runs in
the worker process, or in-process for the Python API: imports torch and user code.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error
from cfexplore.models import get_variant
from cfexplore.results import TargetInfo
from cfexplore.spec import InputSpec, Knob, TargetSpec
from cfexplore.target.inputs import (
    bind,
    call_example,
    call_parts,
    forward_signature,
    like,
    make_inputs,
    tensors_past_knobs,
)
from cfexplore.target.inputs import split_args as _split
from cfexplore.target.knobs import attribute_knobs, data_knobs, forward_knobs, owner_and_attr
from cfexplore.target.source import control_flow_lines, find_class, knob_lines, parse_file
from cfexplore.worker.imports import config_init, import_file, import_module

MODEL_SEED = 0
"""Weights are initialised from this seed, once per load; the diff seed drives inputs."""


class Loaded:
    """A target in memory: the eager module, its knobs and how to feed it."""

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.example_fn: Callable[[], Any] | None = None
        self.description = ""
        self.source_file: str | None = None
        self.class_name = ""
        self._last: tuple[Any, dict[str, np.ndarray]] | None = None
        self.builds = 0

    # -- building -----------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: TargetSpec) -> Loaded:
        """Build a variant, a user file's class or an importable callable."""
        import torch

        from cfexplore.worker.weights import load_weights

        self = cls(spec)
        variant = None
        if spec.variant:
            variant = get_variant(spec.variant)
            if variant is None:
                raise CfxError(f"unknown variant {spec.variant!r}")
            mod_name, _, attr = variant.factory.partition(":")
            factory = getattr(importlib.import_module(mod_name), attr)
            init = dict(variant.init)
            self.description = variant.description
            self.class_name = attr
            self.source_file = inspect.getsourcefile(factory)
        else:
            assert spec.class_name
            if spec.module:
                owner = import_module(spec.module)
            else:
                assert spec.path
                owner = import_file(spec.path)
            factory = getattr(owner, spec.class_name, None)
            where = spec.module or spec.path
            if factory is None:
                raise CfxError(f"{where}: no class or function {spec.class_name!r}")
            if not callable(factory):
                raise CfxError(f"{where}: {spec.class_name!r} is not callable")
            self.example_fn = getattr(owner, "example_inputs", None)
            if not callable(self.example_fn):
                self.example_fn = None
            init = config_init(factory, dict(spec.init))
            self.description = (inspect.getdoc(factory) or "").split("\n", 1)[0]
            self.class_name = spec.class_name
            try:
                self.source_file = inspect.getsourcefile(factory) or spec.path
            except TypeError:
                self.source_file = spec.path
        torch.manual_seed(MODEL_SEED)
        try:
            module = factory(**init)
        except TypeError as exc:
            raise CfxError(f"cannot build {self.class_name}: {exc}") from exc
        except Exception as exc:
            raise CfxError(
                f"cannot build {self.class_name}: {short_error(exc)}", full_text(exc)
            ) from exc
        if not isinstance(module, torch.nn.Module):
            raise CfxError(
                f"{self.class_name} is not a torch.nn.Module (it built a {type(module).__name__})"
            )
        if spec.weights:
            load_weights(module, spec.weights)
        self._setup(module, variant)
        return self

    @classmethod
    def from_module(
        cls, module: Any, args: Any, kwargs: dict[str, Any] | None, label: str
    ) -> Loaded:
        """The Python API: a module object the caller built, with example arguments."""
        import torch

        if not isinstance(module, torch.nn.Module):
            raise CfxError(f"check() takes a torch.nn.Module, got {type(module).__name__}")
        self = cls(TargetSpec(path=None, class_name=label))
        self.class_name = type(module).__name__
        self.description = (inspect.getdoc(type(module)) or "").split("\n", 1)[0]
        try:
            self.source_file = inspect.getsourcefile(type(module))
        except TypeError:
            self.source_file = None
        pos, kw = _split(args)
        kw = {**kw, **(kwargs or {})}
        self.example_fn = lambda: (pos, kw)
        self._setup(module, None, fixed_example=True)
        return self

    def _setup(self, module: Any, variant: Any, fixed_example: bool = False) -> None:
        """Common to every target: eval mode, signature, inputs, knobs, source lines."""
        self.module = module.eval()
        self.builds = 1
        self.fixed_example = fixed_example
        """API targets: the caller's tensors are the first seed's inputs; other seeds draw
        tensors like them (same shapes and dtypes, integers within the given range)."""
        self.first_seed = 0
        self.sig = forward_signature(module)
        self.params = list(self.sig.parameters)
        self.fixed: dict[str, Any] = {}
        """Given forward() values that are neither tensors nor knobs (None, floats, ...)."""
        self.searched = ""
        self.knobs: list[Knob]
        if variant is not None:
            self.knobs = list(variant.knobs)
            self.inputs = list(variant.inputs)
        else:
            given = self._bind_inputs()
            self.knobs = forward_knobs(module, self.sig, given)
            names = {k.name for k in self.knobs}
            attrs, n_mod, n_cls = attribute_knobs(module, names)
            self.knobs += attrs
            self.knobs += data_knobs(module)
            self.fixed = {
                k: v
                for k, v in given.items()
                if k not in names and k not in {i.name for i in self.inputs}
            }
            self.knobs += self._run_time_data_knobs()
            self.searched = (
                f"searched forward() parameters ({len(self.params)}) and the bool/int "
                f"attributes of {n_mod} module{'s' if n_mod != 1 else ''} read by "
                f"if/for/while in {n_cls} class{'es' if n_cls != 1 else ''}' source, and "
                "data-dependent ifs in your own code"
            )
        self.apply_value_overrides()
        self._attach_lines()
        self._original = {k.name: self.get_knob(k) for k in self.knobs if k.where.endswith("attr")}

    def _run_time_data_knobs(self) -> list[Knob]:
        """Data-dependent ifs the source scan missed (in a helper function, say): one eager
        forward at the export inputs, watching which user-code `if`s read a tensor's
        truth value."""
        import torch

        from cfexplore.target.drive import bool_sites, branch_lines
        from cfexplore.target.knobs import data_knob, is_user_file

        if isinstance(self.module, torch.jit.ScriptModule):
            return []
        known = {(k.file, k.line) for k in self.knobs if k.where == "tensor-data"}
        vals = {k.name: k.default for k in self.knobs}

        def run() -> None:
            with torch.no_grad():
                self.call(self.tensors(0, vals), vals)

        found = []
        for file, line in bool_sites(run, is_user_file):
            info = branch_lines(file, line)
            if (file, line) in known or info is None:
                continue
            found.append(data_knob(file, line, info[0]))
        self._last = None  # the inputs cache must not outlive this probe
        return found

    # -- inputs ---------------------------------------------------------------------

    def _example(self, seed: int) -> dict[str, Any]:
        """example_inputs() (or the API's arguments) bound to forward() by name."""
        assert self.example_fn is not None
        got = self.example_fn() if self.fixed_example else call_example(self.example_fn, seed)
        pos, kw = _split(got)
        return bind(self.sig, tensors_past_knobs(self.sig, pos), kw).values

    def _bind_inputs(self) -> dict[str, Any]:
        """Tensor inputs from --input or example_inputs(); returns every bound value.

        Refuses a result it cannot bind before anything is exported.
        """
        import torch

        given_specs = {s.name: s for s in self.spec.inputs}
        if given_specs:
            unknown = [n for n in given_specs if n not in self.sig.parameters]
            if unknown:
                raise CfxError(
                    f"--input {unknown[0]!r}: forward() has no such parameter "
                    f"(parameters: {', '.join(self.params) or 'none'})"
                )
            self.example_fn = None
            self.inputs = list(given_specs.values())
            values: dict[str, Any] = {n: None for n in given_specs}
        elif self.example_fn is not None:
            values = self._example(0)
            self.inputs = [
                InputSpec(n, tuple(v.shape), str(v.dtype).removeprefix("torch."))
                for n, v in values.items()
                if isinstance(v, torch.Tensor)
            ]
        else:
            values = {}
            self.inputs = []
        from cfexplore.target.knobs import annotation_kind

        missing = [
            p.name
            for p in self.sig.parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            and p.name not in values
            and annotation_kind(p.annotation) is None
        ]
        if missing:
            where = (
                "example_inputs() does not give it"
                if self.example_fn is not None
                else "no example_inputs() in the file and no --input for it"
            )
            raise CfxError(
                f"forward() parameter {missing[0]!r} needs a value: {where} "
                f"(e.g. --input {missing[0]}=1x3x8x8)"
            )
        return values

    def apply_value_overrides(self) -> None:
        """`--values KNOB=v1,v2`: the values each named knob's sweep tries."""
        known = {k.name for k in self.knobs}
        for name in self.spec.values:
            if name not in known:
                raise CfxError(
                    f"--values {name!r}: no such knob (knobs: {', '.join(sorted(known)) or 'none'})"
                )
        self.knobs = [
            replace(k, values=tuple(self.spec.values[k.name])) if k.name in self.spec.values else k
            for k in self.knobs
        ]

    def _attach_lines(self) -> None:
        self.control_lines: list[int] = []
        if not self.source_file:
            return
        try:
            node = find_class(parse_file(self.source_file), self.class_name)
        except (OSError, SyntaxError, UnicodeDecodeError):
            node = None
        if node is None:
            return
        self.control_lines = list(control_flow_lines(node))
        found = knob_lines(node, [k.name for k in self.knobs if k.line is None])
        for i, k in enumerate(self.knobs):
            if k.line is not None:
                continue
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
            searched=self.searched,
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
            if value in k.values and type(value) in {type(v) for v in k.values}:
                out[name] = value
                continue
            if k.mode == "drive":
                raise CfxError(
                    f"knob {name!r} takes one of {', '.join(map(str, k.values))}, got {value!r}"
                )
            if isinstance(k.default, bool) or None in k.values:
                ok = isinstance(value, bool) or (value is None and None in k.values)
                if not ok:
                    raise CfxError(f"knob {name!r} takes true or false, got {value!r}")
            elif isinstance(k.default, int) and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise CfxError(f"knob {name!r} takes an integer, got {value!r}")
            out[name] = value
        return out

    def get_knob(self, k: Knob) -> Any:
        owner, attr = owner_and_attr(self.module, k.name)
        return getattr(type(owner) if k.where == "class-attr" else owner, attr)

    @contextlib.contextmanager
    def attrs_set(self, values: dict[str, Any]) -> Iterator[None]:
        """Set attribute knobs on the eager module tree (class or instance), then restore."""
        touched: list[tuple[Any, str, Any]] = []
        try:
            for k in self.knobs:
                if not k.where.endswith("attr"):
                    continue
                owner, attr = owner_and_attr(self.module, k.name)
                target = type(owner) if k.where == "class-attr" else owner
                touched.append((target, attr, self._original[k.name]))
                setattr(target, attr, values[k.name])
            yield
        finally:
            for target, attr, original in reversed(touched):
                setattr(target, attr, original)

    def tensors(self, seed: int, values: dict[str, Any]) -> dict[str, np.ndarray]:
        """Seeded tensor inputs with tensor-data knobs applied (the last result is kept:
        one diff asks for the same inputs on the PyTorch and the ONNX side)."""
        key = (seed, tuple(sorted((k, repr(v)) for k, v in values.items())))
        if self._last is not None and self._last[0] == key:
            return dict(self._last[1])
        data = self._make_tensors(seed, values)
        self._last = (key, data)
        return dict(data)

    def _make_tensors(self, seed: int, values: dict[str, Any]) -> dict[str, np.ndarray]:
        import torch

        from cfexplore.target.drive import apply_drive, seed_offset

        drives = [values.get(k.name) for k in self.knobs if k.mode == "drive"]
        seed += sum(seed_offset(d) for d in drives)

        if self.fixed_example and seed != self.first_seed:
            data = like(self._example(seed), seed)
        elif self.example_fn is not None and not self.spec.inputs and not self.spec.variant:
            got = self._example(seed)
            data = {
                n: v.detach().cpu().numpy() for n, v in got.items() if isinstance(v, torch.Tensor)
            }
            expected = [i.name for i in self.inputs]
            if list(data) != expected:
                raise CfxError(
                    f"example_inputs() gave tensors {list(data)} for seed {seed}, "
                    f"{expected} for seed 0: it must give the same parameters every time"
                )
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
        for drive in drives:
            data = apply_drive(data, drive)
        return data

    def call_values(self, data: dict[str, np.ndarray], values: dict[str, Any]) -> dict[str, Any]:
        """forward()'s arguments by name, in signature order: tensors (fresh torch copies),
        forward-arg knob values and the other given values; parameters not given are left
        out so their defaults apply."""
        import torch

        knob_args = {k.name for k in self.knobs if k.where == "forward-arg"}
        out: dict[str, Any] = {}
        for name in [*self.params, *self.fixed, *knob_args]:
            if name in out:
                continue
            if name in data:
                out[name] = torch.from_numpy(np.array(data[name], copy=True))
            elif name in knob_args:
                out[name] = values[name]
            elif name in self.fixed:
                out[name] = self.fixed[name]
        return out

    def call(self, data: dict[str, np.ndarray], values: dict[str, Any]) -> Any:
        """Run the eager module on these inputs (keywords wherever forward() allows)."""
        args, kwargs = call_parts(self.sig, self.call_values(data, values))
        return self.module(*args, **kwargs)


__all__ = ["Loaded", "MODEL_SEED"]
