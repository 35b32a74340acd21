"""Small onnx.helper builders shared by the tests (one copy, one argument order)."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

F = TensorProto.FLOAT


def tv(name: str, elem: int = F, shape: list[int | str] | None = None) -> onnx.ValueInfoProto:
    """A typed value: element type first, then the shape (None: rank unknown)."""
    return helper.make_tensor_value_info(name, elem, shape)
