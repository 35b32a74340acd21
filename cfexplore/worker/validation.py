"""`cfexplore validate`: onnx's full check and an ONNX Runtime session for a file, in the
worker under its memory limit, with the largest tensor named when it is too big."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cfexplore.errortext import full_text, short_error
from cfexplore.results import ValidationResult
from cfexplore.worker.limits import memory_error
from cfexplore.worker.ort import session_options


def validate_file(path: str) -> ValidationResult:
    """`onnx.checker.check_model(full_check=True)` and an ORT session for `path`.

    The file goes through the safe load pipeline first (external data locations are
    checked before anything reads them); the worker's memory limit bounds both steps.
    """
    import onnx
    import onnxruntime as ort

    from cfexplore.graph.safeload import load_model_safely
    from cfexplore.termtext import format_size, safe_text
    from cfexplore.worker.limits import too_large_message

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
            if isinstance(exc, MemoryError) or memory_error(result.session_details):
                result.session_error = too_large_message(result.session_details, limit)
    result.seconds = time.perf_counter() - start
    return result


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
