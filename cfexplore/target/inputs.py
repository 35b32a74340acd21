"""Inputs as users write them: bind `example_inputs()` (or API arguments) to forward().

`example_inputs()` may return a tensor; a tuple in forward() order mixing tensors, Python
bool/int/float and `None`; a dict keyed by parameter name; or `(args_tuple, kwargs_dict)`.
Everything is bound to forward()'s signature by name (`inspect.Signature.bind_partial`),
so a tokenizer-style dict in any order feeds each tensor to its own parameter, and a
parameter not given keeps its default. Python scalars are the knobs' export values.

Runs in the worker process (or in-process for the Python API).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cfexplore.errors import CfxError
from cfexplore.spec import InputSpec

FORMS = (
    "a tensor, a tuple in forward() order, a dict keyed by parameter name, "
    "or (args_tuple, kwargs_dict)"
)


@dataclass
class Bound:
    """Example values bound to forward() parameters, in signature order.

    `values` holds only the parameters that were given (tensors, Python scalars, None,
    anything else); the others keep their defaults when forward() is called.
    """

    values: dict[str, Any]
    missing: list[str]
    """Required parameters (no default) that were not given."""


def split_args(got: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """An `example_inputs()` result (or API arguments) as (args, kwargs)."""
    import torch

    if isinstance(got, torch.Tensor):
        return (got,), {}
    if isinstance(got, dict):
        bad = [k for k in got if not isinstance(k, str)]
        if bad:
            raise CfxError(f"example_inputs() returned a dict with a non-string key {bad[0]!r}")
        return (), dict(got)
    if (
        isinstance(got, tuple)
        and len(got) == 2
        and isinstance(got[0], tuple | list)
        and isinstance(got[1], dict)
        and all(isinstance(k, str) for k in got[1])
    ):
        return tuple(got[0]), dict(got[1])
    if isinstance(got, tuple | list):
        return tuple(got), {}
    raise CfxError(f"example_inputs() returned a {type(got).__name__}; return {FORMS}")


def forward_signature(module: Any) -> inspect.Signature:
    """forward()'s signature without `self` (TorchScript modules: from their schema)."""
    import torch

    if isinstance(module, torch.jit.ScriptModule):
        return _script_signature(module)
    try:
        return inspect.signature(module.forward)
    except (TypeError, ValueError) as exc:
        raise CfxError(f"cannot read forward()'s signature: {exc}") from exc


def _script_signature(module: Any) -> inspect.Signature:
    """A TorchScript forward()'s schema as an inspect.Signature (annotations as text)."""
    try:
        schema = module.forward.schema
    except Exception as exc:
        raise CfxError(f"cannot read the TorchScript forward() schema: {exc}") from exc
    params = []
    for arg in schema.arguments[1:]:  # [0] is self
        default = inspect.Parameter.empty
        if arg.has_default_value():
            default = arg.default_value
        params.append(
            inspect.Parameter(
                arg.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=default,
                annotation=str(arg.type),
            )
        )
    return inspect.Signature(params)


def bind(sig: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Bound:
    """Bind args/kwargs to `sig` by name; an unknown key or too many values is a CfxError
    naming forward()'s parameters."""
    names = [p for p in sig.parameters]
    listed = ", ".join(names) or "none"
    has_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in kwargs if k not in sig.parameters]
    if unknown and not has_var_kw:
        raise CfxError(
            f"example input {unknown[0]!r} matches no forward() parameter (parameters: {listed})"
        )
    try:
        ba = sig.bind_partial(*args, **kwargs)
    except TypeError as exc:
        raise CfxError(
            f"example inputs do not fit forward({listed}): {exc}".replace("  ", " ")
        ) from None
    values: dict[str, Any] = {}
    for name, value in ba.arguments.items():
        kind = sig.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            values.update(value)  # **kwargs: each key is a keyword of its own
        else:
            values[name] = value
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and p.name not in values
    ]
    return Bound(values, missing)


def call_parts(
    sig: inspect.Signature, values: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """forward(*args, **kwargs) for `values`: keywords wherever the signature allows,
    positional only for positional-only and `*args` parameters."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        p = sig.parameters.get(name)
        if p is None:
            kwargs[name] = value  # through **kwargs
        elif p.kind is inspect.Parameter.POSITIONAL_ONLY:
            args.append(value)
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            args.extend(value)
        else:
            kwargs[name] = value
    return tuple(args), kwargs


def positional(sig: inspect.Signature, values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """All parameters up to the last one given, in order, defaults filled in: for
    TorchScript, whose export takes positional inputs only. Returns (names, values)."""
    order = [n for n in sig.parameters if n in values]
    if not order:
        return [], []
    last = list(sig.parameters).index(order[-1])
    names: list[str] = []
    out: list[Any] = []
    for p in list(sig.parameters.values())[: last + 1]:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            break
        if p.name in values:
            out.append(values[p.name])
        elif p.default is not inspect.Parameter.empty:
            out.append(p.default)
        else:
            raise CfxError(f"forward() parameter {p.name!r} needs a value")
        names.append(p.name)
    return names, out


def call_example(fn: Callable[[], Any], seed: int) -> Any:
    """`example_inputs()` after `torch.manual_seed(seed)`; what it raises is one line."""
    import torch

    from cfexplore.errortext import full_text, short_error

    torch.manual_seed(seed)
    try:
        return fn()
    except Exception as exc:
        raise CfxError(f"example_inputs() raised {short_error(exc)}", full_text(exc)) from exc


def make_inputs(specs: list[InputSpec], seed: int) -> dict[str, np.ndarray]:
    """Deterministic inputs from the seed: normal floats, small ints, random bools; a spec
    with a range draws uniformly from `[low, high)` (integers: `low..high-1`)."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        ranged = spec.low is not None and spec.high is not None
        if spec.dtype.startswith("float"):
            if spec.low is not None and spec.high is not None:
                arr = rng.uniform(spec.low, spec.high, spec.shape).astype(spec.dtype)
            else:
                arr = rng.standard_normal(spec.shape).astype(spec.dtype)
        elif spec.dtype == "bool":
            arr = rng.random(spec.shape) > 0.5
        else:
            lo, hi = (int(spec.low), int(spec.high)) if ranged else (0, 4)  # type: ignore[arg-type]
            arr = rng.integers(lo, hi, spec.shape).astype(spec.dtype)
        out[spec.name] = np.asarray(arr)
    return out


def tensors_past_knobs(sig: inspect.Signature, pos: tuple[Any, ...]) -> tuple[Any, ...]:
    """A tuple of tensors only, where forward() puts bool/int parameters first, fills the
    tensor parameters in order (the knobs keep their defaults): `forward(flag: bool, x)`
    with `example_inputs() -> (x,)`."""
    import torch

    from cfexplore.target.knobs import annotation_kind

    params = [
        p
        for p in sig.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if not pos or not all(isinstance(v, torch.Tensor) for v in pos):
        return pos
    if not any(annotation_kind(p.annotation) for p in params[: len(pos)]):
        return pos
    out: list[Any] = []
    it = iter(pos)
    for p in params:
        if annotation_kind(p.annotation):
            if p.default is inspect.Parameter.empty:
                out.append(False if annotation_kind(p.annotation) == "bool" else None)
            else:
                out.append(p.default)
            continue
        nxt = next(it, _END)
        if nxt is _END:
            break
        out.append(nxt)
    return tuple(out) if next(it, _END) is _END else pos


_END = object()


def like(values: dict[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Seeded tensors shaped like the given ones: normal floats, integers drawn from the
    given tensor's own range (token ids stay valid), random bools."""
    import torch

    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, v in values.items():
        if not isinstance(v, torch.Tensor):
            continue
        arr = v.detach().cpu().numpy()
        if arr.dtype == np.bool_:
            out[name] = rng.random(arr.shape) > 0.5
        elif np.issubdtype(arr.dtype, np.integer):
            lo, hi = (int(arr.min()), int(arr.max()) + 1) if arr.size else (0, 1)
            out[name] = rng.integers(lo, hi, arr.shape).astype(arr.dtype)
        else:
            out[name] = rng.standard_normal(arr.shape).astype(arr.dtype)
    return out
