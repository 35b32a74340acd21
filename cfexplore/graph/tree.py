"""A UI-free model of any `.onnx` file as a lazily expanded tree.

The tree is graph -> nodes -> graph attributes (`then_branch`, `else_branch`, `body`,
`name[i]` for GRAPHS lists) -> nodes, to any depth. Nodes that call a model-local function
get that function's body inlined beneath them, so a user never meets an opaque call.
Items are built only when asked for (`children(start, stop)`), so a UI can page through a
100k-node graph without paying for the parts it never shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import onnx
from onnx import FunctionProto, GraphProto, NodeProto

from cfexplore.graph.budget import MAX_CALL_DEPTH, Footprint, footprint
from cfexplore.graph.describe import (
    add_counts,
    empty_counts,
    function_id,
    graph_attributes,
    is_control_flow,
    path_to_str,
)
from cfexplore.graph.items import GraphItem, Item, NodeItem
from cfexplore.graph.lint import model_warnings
from cfexplore.graph.safeload import DEFAULT_MAX_BYTES, load_model_safely
from cfexplore.graph.typeinfer import BODY_INFER_MAX_NODES, InferredTypes, decide, small_enough
from cfexplore.graph.values import (
    FUNCTION_STEP,
    FunctionKey,
    ItemPath,
    Scope,
    ScopeEntry,
    entry_type,
)
from cfexplore.graph.walk import iter_graphs
from cfexplore.termtext import one_line

# --------------------------------------------------------------------------- tree


def _has_elem_type(vi: onnx.ValueInfoProto) -> bool:
    """Whether a declared value has a type worth keeping (a tensor with an element type,
    or any non-tensor type)."""
    if not vi.HasField("type"):
        return False
    kind = vi.type.WhichOneof("value")
    return kind != "tensor_type" or vi.type.tensor_type.elem_type != 0


def _warning(what: str, exc: BaseException) -> str:
    """`<what>: <reason>` as one line of at most 160 characters (the reason is cut)."""
    return one_line(f"{what}: {one_line(str(exc)) or type(exc).__name__}")


_OVER_BUDGET = (
    "shapes not inferred, each function body audited once, calls deeper than "
    f"{MAX_CALL_DEPTH} not inlined"
)


class OnnxTree:
    """An ONNX model as a lazily expanded, function-inlining tree of graphs and nodes."""

    def __init__(self, model: onnx.ModelProto, *, path: str | None = None, infer: bool = True):
        self.path = path
        self.warnings: list[str] = []
        if infer:
            try:
                model = onnx.shape_inference.infer_shapes(model)
            except Exception as exc:  # inference is a bonus: browse without types
                self.warnings.append(_warning("shape inference failed", exc))
        self._infer = infer
        self.model = model
        """The model, with inferred `value_info` added when shape inference succeeded."""
        self.items_created = 0
        """How many items have been built so far (laziness is observable)."""
        self._items: dict[ItemPath, Item] = {}
        self._functions: dict[FunctionKey, FunctionProto] = {}
        self._functions_by_name: dict[tuple[str, str], FunctionKey] = {}
        for f in model.functions:
            key = (f.domain, f.name, f.overload)
            self._functions.setdefault(key, f)
            self._functions_by_name.setdefault((f.domain, f.name), key)
        self._function_counts: dict[FunctionKey, dict[str, int]] = {}
        self._footprint: Footprint | None = None
        self.types_deferred = False
        """Opened without the types it should have: they are inferred elsewhere (the app's
        file worker) and merged with `merge_types`."""
        self.root = GraphItem(
            self, (), kind="graph", scope=Scope(None, graph=model.graph), graph=model.graph
        )
        self._items[()] = self.root

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        infer: bool | None = None,
        lint: bool = True,
        infer_here_max: int | None = None,
    ) -> OnnxTree:
        """Open an untrusted `.onnx` file or raise `GraphError` (one line, `details` in full).

        Goes through `load_model_safely` (regular files up to `max_bytes`, external-data
        references validated but not read: the tree needs only shapes and dtypes). A model
        that parses opens even when odd; its problems land in `warnings`.

        With `infer_here_max` (the app), shapes are inferred here only for a model of at
        most that many nodes and no local functions; a bigger one that should have types
        opens without them and `types_deferred` is set: infer in a worker and
        `merge_types`.
        """
        p = Path(path)
        notes: list[str] = []
        model = load_model_safely(p, max_bytes, warnings=notes)
        if lint:  # the app asks for them later, after the tree shows
            notes.extend(model_warnings(model))
        size = footprint(model)  # before anything expands the model's function calls
        if size.over:
            notes.append(f"the model {size.describe()}: {_OVER_BUDGET}")
        deferred = False
        if infer is None:
            infer, note = decide(model, size)
            if note:
                notes.append(note)
            if infer and infer_here_max is not None and not small_enough(model, infer_here_max):
                infer, deferred = False, True
        tree = cls(model, path=os.fspath(p), infer=infer)
        tree.warnings[:0] = notes
        tree._footprint = size
        tree.types_deferred = deferred
        return tree

    @classmethod
    def from_model(cls, model: onnx.ModelProto) -> OnnxTree:
        """Wrap an in-memory model (it is not modified)."""
        return cls(model)

    @property
    def footprint(self) -> Footprint:
        """The inlined tree's size, counted before anything expands it (`budget`)."""
        if self._footprint is None:
            self._footprint = footprint(self.model)
        return self._footprint

    def merge_types(self, inferred: InferredTypes) -> bool:
        """Add types inferred elsewhere (the app's file worker, `cfexplore.graph.typeinfer`) to
        this tree's graphs, and forget the types looked up so far. False (nothing merged)
        when the answer does not line up with this model's graphs (the file changed)."""
        graphs = [g for _, g in iter_graphs(self.model)]
        if not inferred.graphs or len(graphs) != len(inferred.graphs):
            return False
        parts = []
        for blob, g in zip(inferred.graphs, graphs, strict=True):
            part = GraphProto()
            try:
                part.ParseFromString(blob)
            except Exception:  # not what the worker should send: browse without types
                return False
            if [o.name for o in part.output] != [o.name for o in g.output]:
                return False
            parts.append(part)
        for part, g in zip(parts, graphs, strict=True):
            known = {vi.name for vi in g.value_info}
            g.value_info.extend([vi for vi in part.value_info if vi.name not in known])
            for out, found in zip(g.output, part.output, strict=True):
                if not _has_elem_type(out) and found.HasField("type"):
                    out.type.CopyFrom(found.type)
        self._infer = True  # function bodies may now be inferred as calls expand
        self.types_deferred = False
        for item in list(self._items.values()):
            for cached in ("inputs", "outputs"):
                item.__dict__.pop(cached, None)
            scope: Scope | None = getattr(item, "scope", None)
            while scope is not None:
                scope._table = None
                scope = scope.parent
        return True

    # -- model facts

    @property
    def opset_imports(self) -> dict[str, int]:
        """Domain -> version; the default domain is `""`."""
        return {o.domain: int(o.version) for o in self.model.opset_import}

    @property
    def ir_version(self) -> int:
        return int(self.model.ir_version)

    @property
    def producer(self) -> str:
        """Producer name and version, e.g. `pytorch 2.13.0`."""
        return f"{self.model.producer_name} {self.model.producer_version}".strip()

    @property
    def total_counts(self) -> dict[str, int]:
        """Control-flow ops over the inlined tree (function bodies counted per call)."""
        return self.root.total_counts

    @property
    def function_names(self) -> list[str]:
        """Display names of the model-local functions."""
        return [function_id(*k) for k in self._functions]

    # -- navigation

    def node_by_path(self, path: Sequence[int | str]) -> Item:
        """Re-find an item by its `path` (raises KeyError when it does not exist)."""
        item: Item = self.root
        for step in path:
            if isinstance(item, GraphItem) and isinstance(step, int):
                item = item.child(step)
                continue
            if isinstance(item, NodeItem) and isinstance(step, str):
                item = item.child(step)
                continue
            raise KeyError(f"no item at {path_to_str(tuple(path))}")
        return item

    def iter_control_flow(self) -> Iterator[NodeItem]:
        """Control-flow nodes of the inlined tree, depth-first in display order (lazy)."""
        stack: list[tuple[ItemPath, Sequence[NodeProto], int, tuple[FunctionKey, ...]]] = [
            ((), self.model.graph.node, 0, ())
        ]
        while stack:
            gpath, nodes, i, calls = stack[-1]
            if i >= len(nodes):
                stack.pop()
                continue
            stack[-1] = (gpath, nodes, i + 1, calls)
            node = nodes[i]
            npath = (*gpath, i)
            if is_control_flow(node):
                found = self.node_by_path(npath)
                assert isinstance(found, NodeItem)
                yield found
            kids = [((*npath, k), g.node, 0, calls) for k, g in graph_attributes(node)]
            fkey = self._function_key(node)
            if fkey is not None and fkey not in calls and len(calls) < MAX_CALL_DEPTH:
                body = self._functions[fkey].node
                if any(self._function_total(fkey, calls).values()):  # else nothing to find
                    kids.append(((*npath, FUNCTION_STEP), body, 0, (*calls, fkey)))
            stack.extend(reversed(kids))

    def _function_total(self, fkey: FunctionKey, calls: tuple[FunctionKey, ...]) -> dict[str, int]:
        """Control-flow counts of one function's inlined body (memoised per function)."""
        memo = self._function_counts.get(fkey)
        if memo is None:
            memo = self._count_nodes(self._functions[fkey].node, (*calls, fkey))
            self._function_counts[fkey] = memo
        return memo

    # -- internals

    def _function_key(self, node: NodeProto) -> FunctionKey | None:
        if not self._functions:
            return None
        key = (node.domain, node.op_type, node.overload)
        if key in self._functions:
            return key
        if not node.overload:
            return self._functions_by_name.get((node.domain, node.op_type))
        return None

    def _infer_body_types(
        self, fn: FunctionProto, bindings: dict[str, ScopeEntry]
    ) -> list[onnx.ValueInfoProto]:
        """value_info of a function body, inferred from the argument types of one call."""
        if not self._infer:
            return []
        try:
            helper = onnx.helper
            inputs = []
            for name in fn.input:
                tp = entry_type(bindings.get(name))
                vi = onnx.ValueInfoProto(name=name)
                if tp is not None:
                    vi.type.CopyFrom(tp)
                inputs.append(vi)
            outputs = [onnx.ValueInfoProto(name=name) for name in fn.output]
            graph = helper.make_graph(list(fn.node), fn.name or "body", inputs, outputs)
            body = helper.make_model(
                graph,
                opset_imports=list(fn.opset_import) or list(self.model.opset_import),
                functions=list(self.model.functions),
                ir_version=self.model.ir_version or onnx.IR_VERSION,
            )
            if footprint(body).nodes > BODY_INFER_MAX_NODES:
                return []  # held the GIL too long where the UI waits: declared types
            inferred = onnx.shape_inference.infer_shapes(body)
        except Exception:  # attribute references, odd bodies: types stay unknown
            return []
        # Names are unique within the body, so nested subgraphs' types can live here too.
        found: list[onnx.ValueInfoProto] = []
        graphs = [inferred.graph]
        while graphs:
            g = graphs.pop()
            found.extend(g.value_info)
            found.extend(g.output)
            for n in g.node:
                graphs.extend(sub for _, sub in graph_attributes(n))
        return found

    def _count_nodes(
        self, nodes: Sequence[NodeProto], calls: tuple[FunctionKey, ...]
    ) -> dict[str, int]:
        out = empty_counts()
        for n in nodes:
            if is_control_flow(n):
                out[n.op_type] += 1
            if n.attribute:
                for _, g in graph_attributes(n):
                    add_counts(out, self._count_nodes(g.node, calls))
            fkey = self._function_key(n)
            if fkey is not None and fkey not in calls and len(calls) < MAX_CALL_DEPTH:
                add_counts(out, self._function_total(fkey, calls))
        return out
