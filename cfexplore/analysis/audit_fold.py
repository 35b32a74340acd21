"""Constant folding for the audit: is a value the same on every run, and where does it come from.

`Folder.fold` collects a value's producer chain (initializers, `Constant`s, standard
deterministic ops, `Shape`/`Size` of statically shaped values) into a small self-contained
graph and evaluates it with `onnx.reference`; anything that reads a run-time value is not
constant.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import onnx
from onnx import AttributeProto, NodeProto, TensorProto

from cfexplore.analysis.audit_scope import Frame, node_display, resolve
from cfexplore.graph.values import STANDARD_DOMAINS

MAX_FOLD_NODES = 50
"""Longest producer chain the constant folder evaluates (longer chains count as unknown)."""
MAX_FOLD_ELEMENTS = 1_000_000
"""Initializers larger than this are not read while folding (weights, not conditions)."""

_NONDETERMINISTIC = frozenset(
    {
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
    }
)
_MAX_ORIGIN_CHARS = 100


@dataclass
class Folded:
    """A value that is the same on every run, and where it came from."""

    value: np.ndarray
    source: Literal["initializer", "constant", "folded"]
    origin: str
    chain: list[dict[str, str]]

    def phrase(self) -> str:
        """`from Constant '/c'` or, for a computed value, `folded from Not(Constant '/c')`."""
        return f"{'folded from' if self.source == 'folded' else 'from'} {self.origin}"

    def scalar(self) -> Any:
        """The single element as a Python scalar (None when the value is not one element)."""
        arr = np.asarray(self.value)
        if arr.size != 1:
            return None
        return arr.reshape(-1)[0].item()


class _NotConstant(Exception):
    """Raised while collecting a producer chain that depends on a run-time value."""


class _Collector:
    """Collects the constant producer chain of a value as a renamed, self-contained graph."""

    def __init__(self, folder: Folder) -> None:
        self.folder = folder
        self.nodes: list[NodeProto] = []
        self.inits: list[TensorProto] = []
        self.names: dict[tuple[int, str], str] = {}
        self.chain: list[dict[str, str]] = []
        self.exprs: dict[str, tuple[str, str]] = {}
        """Renamed value -> (expression with names, expression of op types only)."""
        self.entered = 0
        """Nodes visited so far: caps the chain and any cycle in a malformed graph."""

    def _fresh(self) -> str:
        return f"v{len(self.names)}"

    def value(self, frame: Frame, name: str) -> str:
        """The renamed value for `name` read in `frame` (raises `_NotConstant`)."""
        if not name:
            return ""
        found = resolve(frame, name)
        if found is None:
            raise _NotConstant(name)
        owner, local, entry = found
        key = (id(owner), local)
        if key in self.names:
            return self.names[key]
        if entry[0] == "init":
            tensor: TensorProto = entry[1]
            if tensor.data_location == TensorProto.EXTERNAL or _numel(tensor) > MAX_FOLD_ELEMENTS:
                raise _NotConstant(name)
            new = self.names[key] = self._fresh()
            copy = TensorProto()
            copy.CopyFrom(tensor)
            copy.name = new
            self.inits.append(copy)
            self.exprs[new] = (f"initializer '{local}'", "initializer")
            return new
        if entry[0] == "node":
            self._node(owner, entry[1], entry[2])
            return self.names[key]
        raise _NotConstant(name)

    def _node(self, owner: Frame, node: NodeProto, index: int) -> None:
        self.entered += 1
        if self.entered > MAX_FOLD_NODES or not self.folder.foldable(node):
            raise _NotConstant(node.op_type)
        name = node_display(node, index)
        if node.op_type in ("Shape", "Size"):
            leaf = _static_shape_value(owner, node)
            if leaf is not None:
                self._leaf(owner, node, leaf, name)
                return
        inputs = list(node.input)
        replacement: NodeProto | None = None
        if node.op_type == "CastLike" and len(inputs) == 2:
            try:
                ins = [self.value(owner, inputs[0]), self.value(owner, inputs[1])]
            except _NotConstant:
                to = _elem_type(owner, inputs[1])
                if to is None:
                    raise
                ins = [self.value(owner, inputs[0])]
                replacement = onnx.helper.make_node("Cast", ins, [], to=to)
        else:
            ins = [self.value(owner, n) for n in inputs]
        copy = NodeProto()
        copy.CopyFrom(replacement if replacement is not None else node)
        copy.name = ""
        del copy.input[:]
        copy.input.extend(ins)
        del copy.output[:]
        for o in node.output:
            if o:
                new = self.names[(id(owner), o)] = self._fresh()
                copy.output.append(new)
            else:
                copy.output.append("")
        self.nodes.append(copy)
        self.chain.append({"op_type": node.op_type, "name": name})
        args = [self.exprs[n] for n in ins if n]
        if args:
            full = f"{node.op_type}({', '.join(a[0] for a in args)})"
            short = f"{node.op_type}({', '.join(a[1] for a in args)})"
        else:
            full, short = f"{node.op_type} '{name}'", node.op_type
        for o in copy.output:
            if o:
                self.exprs[o] = (full, short)

    def _leaf(self, owner: Frame, node: NodeProto, value: np.ndarray, name: str) -> None:
        """A `Shape`/`Size` of a statically shaped value: a constant without its input."""
        new = self.names[(id(owner), node.output[0])] = self._fresh()
        self.inits.append(onnx.numpy_helper.from_array(value, new))
        self.chain.append({"op_type": node.op_type, "name": name})
        self.exprs[new] = (f"{node.op_type} '{name}'", node.op_type)

    def origin(self, out: str) -> str:
        """How `out` was computed, as a short nested expression (`Not(Constant '/c')`)."""
        full, short = self.exprs[out]
        if len(full) <= _MAX_ORIGIN_CHARS:
            return full
        if len(short) <= _MAX_ORIGIN_CHARS:
            return short
        return f"{short.split('(', 1)[0]}(…) over {len(self.chain)} nodes"


def _numel(t: TensorProto) -> int:
    n = 1
    for d in t.dims:
        n *= int(d)
    return n


def _static_shape_value(frame: Frame, node: NodeProto) -> np.ndarray | None:
    """`Shape`/`Size` of an input whose inferred shape is fully static, else None."""
    if not node.input or not node.input[0]:
        return None
    shape = frame.item.scope.lookup(node.input[0]).shape
    if shape is None or not all(isinstance(d, int) for d in shape):
        return None
    dims = [int(d) for d in shape]  # type: ignore[arg-type]
    if node.op_type == "Size":
        return np.array(int(np.prod(dims, dtype=np.int64)), dtype=np.int64)
    attrs = {a.name: a.i for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(dims))
    return np.array(dims[start:end], dtype=np.int64)


def _elem_type(frame: Frame, name: str) -> int | None:
    """The element type of `name` from the scope's type records (for CastLike)."""
    entry = frame.item.scope.entry(name)
    if isinstance(entry, TensorProto):
        return int(entry.data_type)
    if isinstance(entry, onnx.TypeProto) and entry.WhichOneof("value") == "tensor_type":
        return int(entry.tensor_type.elem_type) or None
    return None


class Folder:
    """Evaluates constant producer chains with `onnx.reference`, memoised per value."""

    def __init__(self, ir_version: int, function_ops: set[tuple[str, str]]) -> None:
        self.ir_version = ir_version or onnx.IR_VERSION
        self.function_ops = function_ops
        self._memo: dict[tuple[int, str], Folded | None] = {}

    def foldable(self, node: NodeProto) -> bool:
        """Standard, deterministic, subgraph-free nodes with no attribute references."""
        if node.domain not in STANDARD_DOMAINS or node.op_type in _NONDETERMINISTIC:
            return False
        if (node.domain, node.op_type) in self.function_ops:
            return False
        return not any(
            a.ref_attr_name or a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS)
            for a in node.attribute
        )

    def fold(self, frame: Frame, name: str) -> Folded | None:
        """The constant value of `name` as read in `frame`, or None if it can vary."""
        if not name:
            return None
        found = resolve(frame, name)
        if found is None:
            return None
        key = (id(found[0]), found[1])
        if key not in self._memo:
            self._memo[key] = self._fold(frame, name)
        return self._memo[key]

    def _fold(self, frame: Frame, name: str) -> Folded | None:
        collector = _Collector(self)
        try:
            out = collector.value(frame, name)
        except _NotConstant:
            return None
        origin = collector.origin(out)
        if not collector.nodes:
            init = next((t for t in collector.inits if t.name == out), None)
            if init is None:
                return None
            try:
                value = onnx.numpy_helper.to_array(init)
            except Exception:  # odd dtypes: treat as unknown
                return None
            if collector.chain:  # a Shape/Size of a static shape
                return Folded(value, "folded", origin, collector.chain)
            return Folded(value, "initializer", origin, [])
        try:
            value = self._evaluate(frame, collector, out)
        except Exception:  # an op the reference runtime rejects: not provably constant
            return None
        if len(collector.chain) == 1 and collector.chain[0]["op_type"] == "Constant":
            return Folded(value, "constant", origin, collector.chain)
        return Folded(value, "folded", origin, collector.chain)

    def _evaluate(self, frame: Frame, collector: _Collector, out: str) -> np.ndarray:
        from onnx.reference import ReferenceEvaluator

        helper = onnx.helper
        graph = helper.make_graph(
            collector.nodes,
            "fold",
            [],
            [helper.make_empty_tensor_value_info(out)],
            initializer=collector.inits,
        )
        model = helper.make_model(graph, opset_imports=frame.opsets, ir_version=self.ir_version)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = list(ReferenceEvaluator(model).run(None, {}))[0]
        return np.asarray(result)
