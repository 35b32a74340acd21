"""ONNX Runtime as the worker uses it: session options (reproducible on request), seeded
inputs for a bare model, the ORT-type-to-numpy map, and the stop a cancel causes."""

from __future__ import annotations

from typing import Any

import numpy as np

from cfexplore.errors import CfxError
from cfexplore.spec import InputSpec
from cfexplore.target.inputs import make_inputs


class RunTerminated(BaseException):  # noqa: N818 - not an error: a requested stop
    """An ONNX Runtime run stopped by `RunOptions.terminate` (the user cancelled).

    A BaseException so that the `except Exception` that records a run's error as a
    finding does not swallow it.
    """


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


def session_options(reproducible: bool = False) -> Any:
    """The SessionOptions every session here uses (`RunSettings.reproducible`: one thread,
    sequential, bit-identical reruns)."""
    import onnxruntime as ort

    if reproducible:
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


def ort_dtype(ort_type: str, fallback: Any) -> Any:
    return ORT_TYPES.get(ort_type, fallback)
