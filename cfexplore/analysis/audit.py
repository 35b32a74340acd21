"""Structural audit of an ONNX model: control flow that cannot change at run time.

A graph can contain an `If` or `Loop` and still not carry the Python `if`/`for` it came from:
the condition may be a constant baked in at export time, or the loop may have been unrolled
into a straight run of copies. `audit_model` finds three such patterns in the main graph,
every nested subgraph (`then_branch`, `else_branch`, `body`, `GRAPHS` lists, any depth) and
every inlined model-local function body:

- `constant-if`: an `If` whose condition folds to a constant (an initializer, a `Constant`,
  or a short chain of standard ops over constants, e.g. `Constant -> Cast -> Not`), so one
  branch always runs.
- `constant-loop`: a `Loop` with a constant trip count `M`, a constant (or absent) initial
  condition and a body condition that is the condition input passed through (or a
  constant), so it always runs the same number of times (`M`, or 0 when the initial
  condition is false). A Loop without `M` is bounded only by its condition: never flagged.
- `unrolled-loop`: the same op sequence (period 1..8; identical attributes and inferred
  input and output types per position, a `Constant`'s value compared by dtype and shape only, since
  `x = x + i` bakes a different constant per iteration) repeated 3+ times back to back, each
  repeat reading an output of the one before (a loop-carried value), as `trace`/`script`/
  `dynamo` leave a Python `for` over a constant range. Parallel repeats (three `Unsqueeze`s
  of shape arithmetic feeding one `Concat`) are not flagged; blocks of only `Constant`s
  neither.

Flags carry the `OnnxTree` item path of their node (for a run, its first node), so a UI can
badge tree rows with `AuditReport.by_path()`.

JSON (`cfexplore audit FILE.onnx --json`, `AuditReport.to_json_dict()`):

```json
{
  "flags": [
    {
      "kind": "constant-if",
      "path": [2],
      "path_str": "2",
      "node_name": "/If",
      "op_type": "If",
      "message": "If '/If' always takes then_branch: its condition is the constant True ...",
      "details": {"cond": "/Constant_output_0", "value": true, "branch": "then_branch",
                  "source": "constant", "origin": "Constant '/Constant'",
                  "chain": [{"op_type": "Constant", "name": "/Constant"}]}
    },
    {
      "kind": "constant-loop", "path": [1, "body", 0], "path_str": "1/body/0",
      "node_name": "/Loop", "op_type": "Loop", "message": "...",
      "details": {"trip_count": 3, "iterations": 3, "trip_count_origin": "Constant '/M'",
                  "initial_cond": true, "initial_cond_origin": "Constant '/T'",
                  "body_cond": "pass-through"}
    },
    {
      "kind": "unrolled-loop", "path": [0], "path_str": "0",
      "node_name": "/Constant", "op_type": "Constant", "message": "...",
      "details": {"ops": ["Constant", "Add"], "period": 2, "repeats": 3,
                  "first_index": 0, "last_index": 5, "first_path": [0], "last_path": [5],
                  "graph": "/"}
    }
  ],
  "summary": {"constant-if": 1, "constant-loop": 1, "unrolled-loop": 1},
  "counts": {"If": 1, "Loop": 1, "Scan": 0, "SequenceMap": 0},
  "optimize": {"before": {"If": 1, "Loop": 0, "Scan": 0, "SequenceMap": 0},
               "after": {"If": 0, "Loop": 0, "Scan": 0, "SequenceMap": 0},
               "folded": ["If: 1 -> 0"]}
}
```

- `message`: one sentence, e.g. `If '/If' always takes then_branch: its condition is the
  constant True (from Constant '/Constant')`, `Loop '/Loop' always runs exactly 3 times: its
  trip count is the constant 3 (from Constant '/M') and its condition can never turn false`,
  `[Constant, Add] repeats 3 times back to back (nodes 0-5): likely a Python loop unrolled
  at export`.
- `path`: the `OnnxTree` item path (ints index nodes, strings name subgraphs or
  `@function`); `path_str` is `graph.path_to_str(path)`.
- `constant-if` `details.source`: `initializer`, `constant` (a `Constant` node) or `folded`
  (computed by a chain of nodes, listed in `chain` in evaluation order; a `Shape`/`Size` of a
  statically shaped value counts as a constant); `origin` is the readable form: the
  initializer or node, or a nested expression such as `Not(Cast(Constant '/c'))` (op types
  only when names would make it long).
- `constant-loop` `details`: `initial_cond` is `null` when the Loop has no condition input;
  `body_cond` is `pass-through`, `constant true` or `constant false`; `iterations` is how
  many times the body always runs.
- `unrolled-loop` `details`: `ops` is one repeat; `graph` is the enclosing graph's path.
- `counts`: control-flow ops over the whole inlined tree; `optimize` is `null` unless the
  caller compared a dynamo export before and after `optimize()`.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import onnx
from onnx import AttributeProto, GraphProto, NodeProto, OperatorSetIdProto, TensorProto
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cfexplore.errors import EXIT_OK, EXIT_USAGE
from cfexplore.graph.tree import (
    CONTROL_FLOW_OPS,
    FUNCTION_STEP,
    STANDARD_DOMAINS,
    GraphError,
    GraphItem,
    ItemPath,
    NodeItem,
    OnnxTree,
    graph_attributes,
    path_to_str,
)
from cfexplore.render.graph_text import format_counts
from cfexplore.termtext import safe_text

FlagKind = Literal["constant-if", "constant-loop", "unrolled-loop"]
FLAG_KINDS: tuple[FlagKind, ...] = ("constant-if", "constant-loop", "unrolled-loop")
"""Every kind of finding, in the order summaries list them."""

MAX_FOLD_NODES = 50
"""Longest producer chain the constant folder evaluates (longer chains count as unknown)."""
MAX_FOLD_ELEMENTS = 1_000_000
"""Initializers larger than this are not read while folding (weights, not conditions)."""
MAX_PERIOD = 8
"""Longest op sequence considered as one iteration of an unrolled loop."""
MIN_REPEATS = 3
"""Fewest back-to-back repeats flagged as an unrolled loop (two copies are too common)."""

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
_KIND_STYLES: dict[str, str] = {
    "constant-if": "bold yellow",
    "constant-loop": "bold yellow",
    "unrolled-loop": "bold cyan",
}


# --------------------------------------------------------------------------- results


@dataclass
class AuditFlag:
    """One finding: a node (or a run of nodes starting there) and why it is static."""

    kind: FlagKind
    path: ItemPath
    """The `OnnxTree` item path of the node (for `unrolled-loop`, the run's first node)."""
    path_str: str
    node_name: str
    """The node's name, or `op_type#index` when it has none (as the tree shows it)."""
    op_type: str
    message: str
    """One readable sentence."""
    details: dict[str, Any] = field(default_factory=dict)
    """JSON-friendly facts behind the message (see the module docstring)."""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": list(self.path),
            "path_str": self.path_str,
            "node_name": self.node_name,
            "op_type": self.op_type,
            "message": self.message,
            "details": self.details,
        }


@dataclass
class OptimizeCounts:
    """Control-flow counts of a dynamo export before and after `optimize()`."""

    before: dict[str, int]
    after: dict[str, int]
    folded: list[str]
    """Each op whose count changed, e.g. `If: 1 -> 0`."""

    def to_json_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "folded": self.folded}


@dataclass
class AuditReport:
    """All findings of one model, in tree display order, plus its control-flow totals."""

    flags: list[AuditFlag]
    counts: dict[str, int]
    """If/Loop/Scan/SequenceMap over the inlined tree (`OnnxTree.total_counts`)."""
    optimize: OptimizeCounts | None = None

    def by_path(self) -> dict[ItemPath, list[AuditFlag]]:
        """Flags grouped by node path, for badging tree rows."""
        out: dict[ItemPath, list[AuditFlag]] = {}
        for flag in self.flags:
            out.setdefault(flag.path, []).append(flag)
        return out

    def kind_counts(self) -> dict[str, int]:
        """Number of flags of each kind (every kind present, zero when absent)."""
        out: dict[str, int] = dict.fromkeys(FLAG_KINDS, 0)
        for flag in self.flags:
            out[flag.kind] += 1
        return out

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "flags": [f.to_json_dict() for f in self.flags],
            "summary": self.kind_counts(),
            "counts": dict(self.counts),
            "optimize": None if self.optimize is None else self.optimize.to_json_dict(),
        }


# --------------------------------------------------------------------------- scopes


Entry = tuple[Any, ...]
"""What a name is bound to in a frame: `("init", tensor)`, `("input",)`, `("node", node, i)`."""


@dataclass(eq=False)
class _Frame:
    """Where each name visible in one graph (or inlined function body) comes from.

    `values` maps a name to `("init", TensorProto)`, `("input",)` or
    `("node", NodeProto, index)`; names not found fall back to `parent` (the enclosing
    graph) or, in a function body, to `bindings` (formal -> caller frame and actual name).
    """

    item: GraphItem
    parent: _Frame | None
    values: dict[str, Entry]
    opsets: list[OperatorSetIdProto]
    bindings: dict[str, tuple[_Frame, str]] = field(default_factory=dict)


def _graph_frame(
    item: GraphItem, parent: _Frame | None, opsets: list[OperatorSetIdProto]
) -> _Frame:
    g = item.graph
    assert g is not None
    values: dict[str, Entry] = {}
    for t in g.initializer:
        values[t.name] = ("init", t)
    for vi in g.input:  # a main-graph input with an initializer is overridable: not constant
        values[vi.name] = ("input",)
    for i, n in enumerate(g.node):
        for o in n.output:
            if o:
                values[o] = ("node", n, i)
    return _Frame(item, parent, values, opsets)


def _function_frame(
    item: GraphItem, call: NodeProto, caller: _Frame, opsets: list[OperatorSetIdProto]
) -> _Frame:
    fn = item.function
    assert fn is not None
    values: dict[str, Entry] = {}
    bindings: dict[str, tuple[_Frame, str]] = {}
    for i, formal in enumerate(fn.input):
        actual = call.input[i] if i < len(call.input) else ""
        if actual:
            bindings[formal] = (caller, actual)
        else:
            values[formal] = ("input",)
    for i, n in enumerate(fn.node):
        for o in n.output:
            if o:
                values[o] = ("node", n, i)
    return _Frame(item, None, values, list(fn.opset_import) or opsets, bindings)


def _resolve(frame: _Frame, name: str) -> tuple[_Frame, str, Entry] | None:
    """(owning frame, name there, entry) for `name` as read in `frame`, or None."""
    f: _Frame | None = frame
    for _ in range(10_000):  # bindings can hop between frames; never loop forever
        if f is None:
            return None
        if name in f.values:
            return f, name, f.values[name]
        if name in f.bindings:
            f, name = f.bindings[name]
            continue
        f = f.parent
    return None


def _display(node: NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}#{index}"


# --------------------------------------------------------------------------- folding


@dataclass
class _Folded:
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

    def __init__(self, folder: _Folder) -> None:
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

    def value(self, frame: _Frame, name: str) -> str:
        """The renamed value for `name` read in `frame` (raises `_NotConstant`)."""
        if not name:
            return ""
        found = _resolve(frame, name)
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

    def _node(self, owner: _Frame, node: NodeProto, index: int) -> None:
        self.entered += 1
        if self.entered > MAX_FOLD_NODES or not self.folder.foldable(node):
            raise _NotConstant(node.op_type)
        name = _display(node, index)
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

    def _leaf(self, owner: _Frame, node: NodeProto, value: np.ndarray, name: str) -> None:
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


def _static_shape_value(frame: _Frame, node: NodeProto) -> np.ndarray | None:
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


def _elem_type(frame: _Frame, name: str) -> int | None:
    """The element type of `name` from the scope's type records (for CastLike)."""
    entry = frame.item.scope.entry(name)
    if isinstance(entry, TensorProto):
        return int(entry.data_type)
    if isinstance(entry, onnx.TypeProto) and entry.WhichOneof("value") == "tensor_type":
        return int(entry.tensor_type.elem_type) or None
    return None


class _Folder:
    """Evaluates constant producer chains with `onnx.reference`, memoised per value."""

    def __init__(self, ir_version: int, function_ops: set[tuple[str, str]]) -> None:
        self.ir_version = ir_version or onnx.IR_VERSION
        self.function_ops = function_ops
        self._memo: dict[tuple[int, str], _Folded | None] = {}

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

    def fold(self, frame: _Frame, name: str) -> _Folded | None:
        """The constant value of `name` as read in `frame`, or None if it can vary."""
        if not name:
            return None
        found = _resolve(frame, name)
        if found is None:
            return None
        key = (id(found[0]), found[1])
        if key not in self._memo:
            self._memo[key] = self._fold(frame, name)
        return self._memo[key]

    def _fold(self, frame: _Frame, name: str) -> _Folded | None:
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
                return _Folded(value, "folded", origin, collector.chain)
            return _Folded(value, "initializer", origin, [])
        try:
            value = self._evaluate(frame, collector, out)
        except Exception:  # an op the reference runtime rejects: not provably constant
            return None
        if len(collector.chain) == 1 and collector.chain[0]["op_type"] == "Constant":
            return _Folded(value, "constant", origin, collector.chain)
        return _Folded(value, "folded", origin, collector.chain)

    def _evaluate(self, frame: _Frame, collector: _Collector, out: str) -> np.ndarray:
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


# --------------------------------------------------------------------------- unrolled runs


def _attr_signature(node: NodeProto, a: AttributeProto) -> Hashable:
    """What must match between repeats: values, except a Constant's data (only its type).

    `x = x + i` in a Python loop leaves Constants that differ per iteration, while an
    optimised export turns the same constants into initializers (not attributes at all).
    """
    if node.op_type == "Constant":
        if a.type == AttributeProto.TENSOR:
            return ("tensor", a.t.data_type, tuple(a.t.dims))
        return ("constant", a.type, len(a.ints) + len(a.floats) + len(a.strings))
    if a.type == AttributeProto.GRAPH:
        return ("graph", _graph_signature(a.g))
    if a.type == AttributeProto.GRAPHS:
        return ("graphs", tuple(_graph_signature(g) for g in a.graphs))
    return bytes(a.SerializeToString(deterministic=True))


def _graph_signature(g: GraphProto, depth: int = 0) -> Hashable:
    if depth > 3:
        return len(g.node)
    return tuple(
        (n.op_type, tuple(_graph_signature(s, depth + 1) for _, s in graph_attributes(n)))
        for n in g.node
    )


def _value_types(frame: _Frame) -> Callable[[str], Hashable]:
    """Name -> hashable type key; a graph's own (inferred) types are read directly."""
    scope = frame.item.scope
    g = frame.item.graph
    if g is None:  # a function body: types are inferred per call by the tree's scope
        return lambda name: scope.lookup(name).type_str()
    table: dict[str, Hashable] = {
        t.name: (t.data_type, tuple(t.dims)) for t in g.initializer if t.name
    }
    for vi in (*g.input, *g.value_info, *g.output):
        if vi.HasField("type") and vi.type.WhichOneof("value") == "tensor_type":
            tt = vi.type.tensor_type
            dims = tuple(
                d.dim_value if d.HasField("dim_value") else d.dim_param for d in tt.shape.dim
            )
            table[vi.name] = (tt.elem_type, dims if tt.HasField("shape") else None)
        elif vi.HasField("type"):
            table[vi.name] = vi.type.SerializeToString()

    def type_of(name: str) -> Hashable:
        found = table.get(name)
        return found if found is not None else scope.lookup(name).type_str()

    return type_of


def _node_signature(node: NodeProto, type_of: Callable[[str], Hashable]) -> Hashable:
    """What must match between repeats: op, attributes, and every input and output type.

    Input types keep e.g. a Conv(16->8) out of a run of Conv(8->8) with the same output.
    """
    attrs = tuple(sorted((a.name, _attr_signature(node, a)) for a in node.attribute))
    ins = tuple(type_of(i) if i else "" for i in node.input)
    outs = tuple(type_of(o) if o else "" for o in node.output)
    return (node.domain, node.op_type, attrs, ins, outs)


def find_runs(
    signatures: Sequence[Hashable],
    max_period: int = MAX_PERIOD,
    min_repeats: int = MIN_REPEATS,
    accept: Callable[[int, int, int], bool] | None = None,
    link: Callable[[int, int, int], bool] | None = None,
) -> list[tuple[int, int, int]]:
    """Back-to-back repeats in a sequence: `(start, period, repeats)`, left to right.

    At each position the period covering the most items wins (the shorter on a tie) among
    the candidates `accept(start, period, repeats)` allows; the scan resumes after the run,
    so runs never overlap. `link(start, period, r)` says whether repeat `r` continues the
    run (e.g. reads what repeat `r - 1` made): a run grows only while it holds, so 20,000
    equal but unlinked nodes cost linear time, not a check of every start position against
    the whole sequence.
    """
    ids: dict[Hashable, int] = {}
    seq = [ids.setdefault(s, len(ids)) for s in signatures]
    n = len(seq)
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < n:
        best: tuple[int, int] | None = None
        for p in range(1, max_period + 1):
            if i + p * min_repeats > n:
                break
            block = seq[i : i + p]
            k = 1
            while (
                i + (k + 1) * p <= n
                and seq[i + k * p : i + (k + 1) * p] == block
                and (link is None or link(i, p, k))
            ):
                k += 1
            if k < min_repeats or (best is not None and p * k <= best[0] * best[1]):
                continue
            if accept is None or accept(i, p, k):
                best = (p, k)
        if best is not None:
            runs.append((i, *best))
            i += best[0] * best[1]
        else:
            i += 1
    return runs


# --------------------------------------------------------------------------- audit


def _times(n: int) -> str:
    return {0: "never runs", 1: "always runs exactly once"}.get(n, f"always runs exactly {n} times")


class _Auditor:
    """Walks the inlined tree once, graph by graph, collecting flags in display order."""

    def __init__(self, tree: OnnxTree) -> None:
        self.tree = tree
        model = tree.model
        self.opsets = list(model.opset_import)
        function_ops = {(f.domain, f.name) for f in model.functions}
        self.function_ops = function_ops
        self.folder = _Folder(int(model.ir_version), function_ops)
        self.flags: list[AuditFlag] = []
        self.once: set[tuple[str, str, str]] | None = set() if tree.footprint.over else None
        """Over the budget (`budget.footprint`), each function body is audited at its
        first call only: per call, 4^25 call paths would never finish."""

    def run(self) -> list[AuditFlag]:
        self._graph(_graph_frame(self.tree.root, None, self.opsets))
        return self.flags

    def _graph(self, frame: _Frame) -> None:
        item = frame.item
        src = item.graph if item.graph is not None else item.function
        assert src is not None
        nodes = list(src.node)
        runs = {start: (p, k) for start, p, k in self._runs(frame, nodes)}
        for i, node in enumerate(nodes):
            npath = (*item.path, i)
            if i in runs:
                self._flag_run(frame, nodes, i, *runs[i])
            children: list[_Frame] = []
            for key, _ in graph_attributes(node) if node.attribute else ():
                sub = self.tree.node_by_path((*npath, key))
                assert isinstance(sub, GraphItem)
                children.append(_graph_frame(sub, frame, frame.opsets))
            if node.domain in STANDARD_DOMAINS and node.op_type == "If":
                self._check_if(frame, node, i)
            elif node.domain in STANDARD_DOMAINS and node.op_type == "Loop":
                self._check_loop(frame, node, i, children)
            if (node.domain, node.op_type) in self.function_ops:
                call = self.tree.node_by_path(npath)
                assert isinstance(call, NodeItem)
                fkey = call.function_key
                seen = self.once is not None and fkey in self.once
                if self.once is not None and fkey is not None:
                    self.once.add(fkey)
                if call.inlines_body and not seen:
                    body = call.child(FUNCTION_STEP)
                    assert isinstance(body, GraphItem)
                    children.append(_function_frame(body, node, frame, self.opsets))
            for child in children:
                self._graph(child)

    def _add(
        self,
        kind: FlagKind,
        frame: _Frame,
        node: NodeProto,
        i: int,
        msg: str,
        details: dict[str, Any],
    ) -> None:
        path = (*frame.item.path, i)
        self.flags.append(
            AuditFlag(kind, path, path_to_str(path), _display(node, i), node.op_type, msg, details)
        )

    # -- constant If

    def _check_if(self, frame: _Frame, node: NodeProto, i: int) -> None:
        if not node.input or not node.input[0]:
            return
        folded = self.folder.fold(frame, node.input[0])
        value = None if folded is None else folded.scalar()
        if folded is None or value is None:
            return
        value = bool(value)
        branch = "then_branch" if value else "else_branch"
        msg = (
            f"If '{_display(node, i)}' always takes {branch}: its condition is the constant "
            f"{value} ({folded.phrase()})"
        )
        details = {
            "cond": node.input[0],
            "value": value,
            "branch": branch,
            "source": folded.source,
            "origin": folded.origin,
            "chain": folded.chain,
        }
        self._add("constant-if", frame, node, i, msg, details)

    # -- constant Loop

    def _check_loop(self, frame: _Frame, node: NodeProto, i: int, children: list[_Frame]) -> None:
        body_frames = [c for c in children if c.item.attr_name == "body"]
        if not body_frames or not node.input or not node.input[0]:
            return  # no trip count: the loop is bounded only by its condition
        body = body_frames[0]
        trip = self.folder.fold(frame, node.input[0])
        trips = None if trip is None else trip.scalar()
        if trip is None or not isinstance(trips, int | float):
            return
        trips = int(trips)
        cond_name = node.input[1] if len(node.input) > 1 else ""
        cond0: bool | None = None
        cond_origin: str | None = None
        cond_phrase = ""
        if cond_name:
            c = self.folder.fold(frame, cond_name)
            cv = None if c is None else c.scalar()
            if c is None or cv is None:
                return
            cond0, cond_origin, cond_phrase = bool(cv), c.origin, c.phrase()
        body_cond = self._body_cond(body)
        if body_cond is None:
            return
        if cond0 is False or trips <= 0:
            iterations = 0
        elif body_cond == "constant false":
            iterations = 1
        else:
            iterations = trips
        name = _display(node, i)
        if cond0 is False:
            reason = f"its initial condition is the constant False ({cond_phrase})"
        else:
            reason = f"its trip count is the constant {trips} ({trip.phrase()})"
            if iterations > 0 and body_cond == "constant false":
                reason += " and its body's condition is the constant False"
            elif iterations > 0:
                reason += " and its condition can never turn false"
        details = {
            "trip_count": trips,
            "iterations": iterations,
            "trip_count_origin": trip.origin,
            "initial_cond": cond0,
            "initial_cond_origin": cond_origin,
            "body_cond": body_cond,
        }
        msg = f"Loop '{name}' {_times(iterations)}: {reason}"
        self._add("constant-loop", frame, node, i, msg, details)

    def _body_cond(self, body: _Frame) -> str | None:
        """`pass-through`, `constant true`/`constant false`, or None when it can vary."""
        g = body.item.graph
        if g is None or len(g.input) < 2 or not g.output:
            return None
        cond_in, name = g.input[1].name, g.output[0].name
        for _ in range(MAX_FOLD_NODES):
            if name == cond_in:
                return "pass-through"
            entry = body.values.get(name)
            if entry is None or entry[0] != "node" or entry[1].op_type != "Identity":
                break
            name = entry[1].input[0] if entry[1].input else ""
        folded = self.folder.fold(body, g.output[0].name)
        value = None if folded is None else folded.scalar()
        if value is None:
            return None
        return "constant true" if bool(value) else "constant false"

    # -- unrolled runs

    def _runs(self, frame: _Frame, nodes: list[NodeProto]) -> list[tuple[int, int, int]]:
        if len(nodes) < MIN_REPEATS:
            return []
        type_of = _value_types(frame)
        sigs = [_node_signature(n, type_of) for n in nodes]

        def is_loop(start: int, p: int, k: int) -> bool:
            return not all(n.op_type == "Constant" for n in nodes[start : start + p])

        # for each node, the positions of the nodes whose outputs it reads (this graph)
        producer = {o: j for j, n in enumerate(nodes) for o in n.output if o}
        sources = [[producer[i] for i in n.input if i in producer] for n in nodes]

        def link(start: int, p: int, r: int) -> bool:
            """Repeat r reads an output of repeat r - 1 (a loop-carried value)."""
            lo, hi = start + (r - 1) * p, start + r * p
            return any(lo <= src < hi for j in range(hi, hi + p) for src in sources[j])

        return find_runs(sigs, accept=is_loop, link=link)

    def _flag_run(self, frame: _Frame, nodes: list[NodeProto], start: int, p: int, k: int) -> None:
        ops = [n.op_type for n in nodes[start : start + p]]
        last = start + p * k - 1
        ops_text = ops[0] if p == 1 else "[" + ", ".join(ops) + "]"
        msg = (
            f"{ops_text} repeats {k} times back to back (nodes {start}-{last}): "
            "likely a Python loop unrolled at export"
        )
        gpath = frame.item.path
        details = {
            "ops": ops,
            "period": p,
            "repeats": k,
            "first_index": start,
            "last_index": last,
            "first_path": [*gpath, start],
            "last_path": [*gpath, last],
            "graph": path_to_str(gpath),
        }
        self._add("unrolled-loop", frame, nodes[start], start, msg, details)


def audit_model(model: onnx.ModelProto, tree: OnnxTree | None = None) -> AuditReport:
    """Find constant Ifs, constant Loops and unrolled loops anywhere in `model`.

    Pass the `OnnxTree` already built for `model` to reuse its shape inference; its (inferred)
    copy of the model is what is walked, so flag paths match its items.
    """
    if tree is None:
        tree = OnnxTree.from_model(model)
    flags = _Auditor(tree).run()
    return AuditReport(flags=flags, counts=tree.total_counts)


def count_control_flow(model: onnx.ModelProto) -> dict[str, int]:
    """If/Loop/Scan/SequenceMap totals over the inlined tree (no shape inference)."""
    return OnnxTree(model, infer=False).total_counts


def optimize_counts(model_before: onnx.ModelProto, model_after: onnx.ModelProto) -> OptimizeCounts:
    """Compare control-flow counts of an export before and after an optimisation pass.

    For dynamo: `torch.onnx.export(..., dynamo=True, optimize=False)`, copy
    `program.model_proto`, then `program.optimize()`; onnxscript's folder inlines Ifs whose
    condition is constant.
    """
    before = count_control_flow(model_before)
    after = count_control_flow(model_after)
    folded = [
        f"{op}: {before.get(op, 0)} -> {after.get(op, 0)}"
        for op in CONTROL_FLOW_OPS
        if before.get(op, 0) != after.get(op, 0)
    ]
    return OptimizeCounts(before=before, after=after, folded=folded)


# --------------------------------------------------------------------------- rendering


def kinds_text(report: AuditReport, sep: str = " · ") -> str:
    """The findings by kind: `unrolled-loop 2 · constant-if 1` (kinds found only)."""
    return sep.join(f"{k} {v}" for k, v in report.kind_counts().items() if v)


def summary_text(report: AuditReport) -> str:
    """One plain line: findings by kind, control-flow totals, optimize changes."""
    n = len(report.flags)
    head = "no findings" if n == 0 else f"{n} finding{'s' if n != 1 else ''}"
    parts = [head]
    if n:
        parts.append(kinds_text(report))
    parts.append(format_counts(report.counts))
    if report.optimize is not None:
        changes = ", ".join(report.optimize.folded) or "no change"
        parts.append(f"optimize: {changes}")
    return " · ".join(parts)


def render_audit(report: AuditReport) -> RenderableType:
    """A table of flags (kind, node, where, message) and a summary line, for the CLI."""
    summary = Text(summary_text(report), style="bold" if report.flags else "dim")
    if not report.flags:
        return summary
    table = Table(show_edge=False, header_style="bold", expand=False)
    table.add_column("kind", no_wrap=True)
    table.add_column("node", overflow="fold")
    table.add_column("where", overflow="fold")
    table.add_column("message", ratio=1)
    for f in report.flags:
        table.add_row(
            Text(f.kind, style=_KIND_STYLES.get(f.kind, "")),
            Text.assemble(
                (safe_text(f.op_type, 40), "bold"), " ", (safe_text(f.node_name, 80), "dim")
            ),
            Text(safe_text(f.path_str)),
            Text(safe_text(f.message)),
        )
    return Group(table, summary)


def cmd_audit(path: str, as_json: bool) -> int:
    """`cfexplore audit FILE.onnx [--json]`: print the audit; 2 when the file cannot be read."""
    try:
        tree = OnnxTree.open(path)
    except GraphError as exc:
        sys.stderr.write(f"cfexplore: {exc}\n")
        return EXIT_USAGE
    report = audit_model(tree.model, tree)
    if as_json:
        sys.stdout.write(json.dumps(report.to_json_dict(), indent=2) + "\n")
    else:
        from rich.console import Console

        Console(soft_wrap=False).print(render_audit(report))
    return EXIT_OK
