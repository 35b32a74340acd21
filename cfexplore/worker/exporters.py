"""The three export paths, called as a user would call `torch.onnx.export`.

- `script`: `torch.jit.script` then the TorchScript exporter; TorchScript takes
  positional inputs only, so every parameter up to the last one given is passed, with
  the defaults filled in.
- `trace`: the TorchScript exporter on the eager module (it traces non-strictly, so dict
  and ModelOutput outputs export); Python scalars and `None` are baked in as constants,
  exactly as `torch.onnx.export(model, args, kwargs=..., dynamo=False)` does.
- `dynamo`: `torch.onnx.export(model, args, kwargs=kwargs, dynamo=True)`.

Runs in the worker process (imports torch).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.target.inputs import call_parts, positional


@contextlib.contextmanager
def _no_fd1() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null: the TorchScript exporter's `verbose` graph dump
    is printed from C++, past `sys.stdout` (kept: it is what records source lines)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _tensor_wrapper(module: Any, sig: Any, values: dict[str, Any], tensor_names: list[str]) -> Any:
    """`module` as forward(*tensors): the non-tensor arguments bound at their values, the
    call made with keywords (what trace records; a ModelOutput or dict output is kept)."""
    import torch

    class Bound(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, *tensors: Any) -> Any:
            given = dict(values)
            given.update(zip(tensor_names, tensors, strict=True))
            args, kwargs = call_parts(sig, given)
            return self.inner(*args, **kwargs)

    # the exporter restores the wrapper's mode afterwards, recursively: a wrapper left in
    # training mode would switch the user's module (dropout!) to training for good
    return Bound().train(module.training)


def _script(module: Any) -> Any:
    """`torch.jit.script(module)` on fresh type records: a submodule class scripted before
    (by another target in this worker) would otherwise be reused whole, and its nodes lose
    their scope names (`/body/Conv` for `/body/layer1/0/Conv`), which `locate` maps to
    modules. A failure forgets the half-compiled types too, so scripting the same class
    again gives the same error, not "Can't redefine method: forward"."""
    import torch

    recursive = torch.jit._recursive
    recursive.concrete_type_store = recursive.ConcreteTypeStore()
    try:
        return torch.jit.script(module)
    except Exception:
        recursive.concrete_type_store = recursive.ConcreteTypeStore()
        raise


def export_to(
    exporter: str, module: Any, sig: Any, values: dict[str, Any], path: Path, opset: int
) -> dict[str, int] | None:
    """Export `module` called with `values` (forward() arguments by name) to `path`,
    atomically. For dynamo, returns the If/Loop/Scan counts before `optimize()`."""
    import torch

    before = None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tensor_names = [n for n, v in values.items() if isinstance(v, torch.Tensor)]
    with torch.no_grad():
        if exporter == "script":
            scripted = module if isinstance(module, torch.jit.ScriptModule) else None
            scripted = scripted or _script(module)
            names, args = positional(sig, values)
            # verbose=True keeps each node's source range in its doc_string (source
            # mapping); the graph dump it prints is discarded
            with contextlib.redirect_stdout(io.StringIO()), _no_fd1():
                torch.onnx.export(
                    scripted,
                    tuple(args),
                    str(tmp),
                    dynamo=False,
                    opset_version=opset,
                    input_names=[n for n, a in zip(names, args, strict=True) if a is not None],
                    verbose=True,
                )
        elif exporter == "trace":
            bound = _tensor_wrapper(module, sig, values, tensor_names)
            tensors = tuple(values[n] for n in tensor_names)
            with contextlib.redirect_stdout(io.StringIO()), _no_fd1():
                torch.onnx.export(
                    bound,
                    tensors,
                    str(tmp),
                    dynamo=False,
                    opset_version=opset,
                    input_names=tensor_names,
                    verbose=True,
                )
        elif exporter == "dynamo":
            call_args, kwargs = call_parts(sig, values)
            program = torch.onnx.export(
                module, call_args, kwargs=kwargs, dynamo=True, opset_version=opset, optimize=False
            )
            assert program is not None
            # what optimisation folds away is an audit finding: count before and after
            before = cf_counts(program.model_proto)
            program.optimize()
            program.save(str(tmp))
        else:
            raise CfxError(f"unknown exporter {exporter!r} (script, trace or dynamo)")
    os.replace(tmp, path)
    return before


def cf_counts(model: Any) -> dict[str, int]:
    """If/Loop/Scan totals, the three counts export results report."""
    from cfexplore.analysis.audit import count_control_flow

    counts = count_control_flow(model)
    return {op: counts.get(op, 0) for op in ("If", "Loop", "Scan")}
