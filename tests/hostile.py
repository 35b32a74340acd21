"""Hostile models and files, generated on the spot for the reliability suite.

Each builder writes one file into a folder and returns its path. They are what an attacker
(or an unlucky exporter) hands the tool: call graphs that explode, graphs too wide or too
deep for naive code, nesting past protobuf's limits, a Loop that never ends, a FIFO where a
model should be, user code that scribbles on the worker's pipe or never returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import onnx
from onnx import TensorProto as T
from onnx import helper as h

from benchmarks.genmodel import sibling_ifs

OPSETS = [h.make_opsetid("", 18)]
LOCAL = [*OPSETS, h.make_opsetid("local", 1)]


def _vi(name: str, elem: int = T.FLOAT, shape: list[int] | None = None) -> onnx.ValueInfoProto:
    return h.make_tensor_value_info(name, elem, [1] if shape is None else shape)


def _save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def _calling_f0(funcs: list[onnx.FunctionProto], path: Path) -> Path:
    """A model whose main graph calls local function f0 on `x`."""
    graph = h.make_graph([h.make_node("f0", ["x"], ["y"], domain="local")], "g",
                         [_vi("x")], [_vi("y")])  # fmt: skip
    model = h.make_model(graph, opset_imports=LOCAL, functions=funcs)
    model.ir_version = 8
    return _save(model, path)


def fanout(path: Path, n: int = 26) -> Path:
    """f0 calls f1 four times, f1 calls f2 four times, …: 4^(n-1) call paths in 2 KB."""
    funcs = []
    for i in range(n):
        if i == n - 1:
            nodes = [h.make_node("Identity", ["a"], ["b"])]
        else:
            names = ["a", "t1", "t2", "t3", "b"]
            nodes = [h.make_node(f"f{i + 1}", [names[j]], [names[j + 1]], domain="local")
                     for j in range(4)]  # fmt: skip
        funcs.append(h.make_function("local", f"f{i}", ["a"], ["b"], nodes, LOCAL))
    return _calling_f0(funcs, path)


def chain(path: Path, n: int = 1000) -> Path:
    """A 1,000-deep chain of local-function calls (recursive counting overflows)."""
    funcs = []
    for i in range(n):
        op = (h.make_node("Identity", ["a"], ["b"]) if i == n - 1
              else h.make_node(f"f{i + 1}", ["a"], ["b"], domain="local"))  # fmt: skip
        funcs.append(h.make_function("local", f"f{i}", ["a"], ["b"], [op], LOCAL))
    return _calling_f0(funcs, path)


def siblings(path: Path, n: int = 20_000) -> Path:
    """20,000 sibling If nodes (3 MB): quadratic scope copies hung the lint."""
    return _save(sibling_ifs(n), path)


def endless_loop(path: Path, trips: int = 2**62) -> Path:
    """A valid Loop with 2^62 trips: ONNX Runtime runs it for ever."""
    body = h.make_graph(
        [h.make_node("Identity", ["c_in"], ["c_out"]),
         h.make_node("Add", ["v_in", "one"], ["v_out"])],
        "body",
        [_vi("i", T.INT64, []), _vi("c_in", T.BOOL, []), _vi("v_in")],
        [_vi("c_out", T.BOOL, []), _vi("v_out")],
        [h.make_tensor("one", T.FLOAT, [1], [1.0])],
    )  # fmt: skip
    graph = h.make_graph(
        [h.make_node("Loop", ["M", "cond", "x"], ["y"], body=body)], "g", [_vi("x")], [_vi("y")],
        [h.make_tensor("M", T.INT64, [], [trips]), h.make_tensor("cond", T.BOOL, [], [True])],
    )  # fmt: skip
    return _save(h.make_model(graph, opset_imports=OPSETS), path)


# -- nesting past protobuf's limit, written on the wire (the onnx helpers cannot build it)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _if_node(then_graph: bytes, out: str, name: str) -> bytes:
    """A NodeProto: an If whose then-branch is `then_graph` (already bytes)."""
    orelse = h.make_graph([h.make_node("Identity", ["x"], [f"{out}e"])], f"{name}e", [],
                          [_vi(f"{out}e")])  # fmt: skip
    node = h.make_node("If", ["c"], [out], else_branch=orelse).SerializeToString()
    attr = _field(1, b"then_branch") + _field(6, then_graph) + _varint(20 << 3) + _varint(5)
    return node + _field(5, attr)


def nested_ifs(path: Path, depth: int = 34) -> Path:
    """`depth` If nodes inside each other's then-branch: past 32 protobuf refuses to parse."""
    inner = h.make_graph([h.make_node("Identity", ["x"], ["o0"])], "b0", [],
                         [_vi("o0")]).SerializeToString()  # fmt: skip
    for level in range(1, depth):
        out, name = f"o{level}", f"b{level}"
        rest = h.make_graph([], name, [], [_vi(out)]).SerializeToString()
        inner = _field(1, _if_node(inner, out, name)) + rest
    top = h.make_model(h.make_graph([], "g", [_vi("c", T.BOOL, []), _vi("x")], [_vi("y")]),
                       opset_imports=OPSETS)  # fmt: skip
    graph = top.graph.SerializeToString() + _field(1, _if_node(inner, "y", "top"))
    top.ClearField("graph")
    path.write_bytes(top.SerializeToString() + _field(7, graph))
    return path


def fifo(path: Path) -> Path:
    """A named pipe where a model should be: opening it blocks until someone writes."""
    os.mkfifo(path)
    return path


# -- user code


GARBAGE = '''
import os
import torch
from torch import nn


class Net(nn.Module):
    """Writes junk into every open descriptor when it runs: the worker's pipe too."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for fd in range(3, 64):
            try:
                os.write(fd, b"\\x80\\x04garbage, not a pickle\\n" * 4)
            except OSError:
                pass
        return x + 1


def example_inputs():
    return (torch.zeros(2),)
'''

HANGS = '''
import time
import torch
from torch import nn


class Net(nn.Module):
    """Never returns when asked to hang (trace export sees hang=False)."""

    def forward(self, x: torch.Tensor, hang: bool = False) -> torch.Tensor:
        while hang:
            time.sleep(0.05)
        return x + 1


def example_inputs():
    return (torch.zeros(2),)
'''


def garbage_user(path: Path) -> Path:
    path.write_text(GARBAGE)
    return path


def hanging_user(path: Path) -> Path:
    path.write_text(HANGS)
    return path


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "fanout": fanout,
    "chain": chain,
    "siblings": siblings,
    "endless-loop": endless_loop,
    "nested-ifs": nested_ifs,
    "fifo": fifo,
}
"""The hostile .onnx files (and the FIFO), by name."""
