"""Small onnx.helper builders shared by the tests (one copy, one argument order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

F = TensorProto.FLOAT


def tv(name: str, elem: int = F, shape: list[int | str] | None = None) -> onnx.ValueInfoProto:
    """A typed value: element type first, then the shape (None: rank unknown)."""
    return helper.make_tensor_value_info(name, elem, shape)


def model_file(path: Path, seed: int) -> Path:
    """MatMul by a 512x512 weight (1 MiB) plus a bias inside an If branch (a subgraph
    initializer), so both graph levels carry external data."""
    rng = np.random.default_rng(seed)
    w = onnx.numpy_helper.from_array(rng.standard_normal((512, 512)).astype(np.float32), "W")
    b = onnx.numpy_helper.from_array(rng.standard_normal(512).astype(np.float32), "b")
    then = helper.make_graph(
        [helper.make_node("Add", ["h", "b"], ["t"])],
        "then",
        [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 512])],
        [b],
    )
    other = helper.make_graph(
        [helper.make_node("Identity", ["h"], ["e"])],
        "else",
        [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1, 512])],
    )
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"]),
            helper.make_node("If", ["flag"], ["y"], then_branch=then, else_branch=other),
        ],
        "saved",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512]),
            helper.make_tensor_value_info("flag", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 512])],
        [w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path
