"""The items of an `OnnxTree`: graphs (main, subgraph, inlined function) and nodes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from onnx import FunctionProto, GraphProto, NodeProto

from cfexplore.graph.budget import MAX_CALL_DEPTH
from cfexplore.graph.describe import (
    empty_counts,
    function_id,
    graph_attributes,
    graph_outer_reads,
    has_graph_attribute,
    is_control_flow,
    node_attribute,
    node_summary,
    path_to_str,
    plural,
    undefined_reads,
)
from cfexplore.graph.lint import unknown_op_note
from cfexplore.graph.values import (
    FUNCTION_STEP,
    STANDARD_DOMAINS,
    FunctionKey,
    ItemKind,
    ItemPath,
    Scope,
    ScopeEntry,
    ValueInfo,
    safe_value,
)
from cfexplore.termtext import safe_text

if TYPE_CHECKING:
    from cfexplore.graph.tree import OnnxTree

CF_STYLE = "bold magenta"
CF_MARKER = "◆ "
FUNCTION_MARKER = "ƒ "

_MAX_LABEL_NAME = 80
"""Characters of a node or graph name shown in a tree label (the detail pane has it all)."""
_MAX_LABEL_OP = 40

# --------------------------------------------------------------------------- items


@dataclass
class NodeDetail:
    """Everything a detail pane shows about one node."""

    op_type: str
    domain: str
    name: str
    """The node's name, or `op_type#index` when it has none."""
    path: str
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    attributes: list[tuple[str, str]]
    outer_scope_reads: list[str] = field(default_factory=list)
    function: str | None = None
    doc_string: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Problems with this node (`unknown op …`), one line each."""


class GraphItem:
    """The main graph, a graph attribute of a node (`subgraph`), or an inlined `function` body."""

    def __init__(
        self,
        tree: OnnxTree,
        path: ItemPath,
        *,
        kind: ItemKind,
        scope: Scope,
        graph: GraphProto | None = None,
        function: FunctionProto | None = None,
        attr_name: str | None = None,
        parent: NodeItem | None = None,
        call_stack: tuple[FunctionKey, ...] = (),
    ) -> None:
        tree.items_created += 1
        self.tree = tree
        self.path = path
        self.kind: ItemKind = kind
        self.graph = graph
        self.function = function
        self.attr_name = attr_name
        self.parent = parent
        self.scope = scope
        self.call_stack = call_stack
        """Local functions being inlined around this graph (guards recursive calls)."""
        src = graph if graph is not None else function
        assert src is not None, "a GraphItem needs a graph or a function"
        self._nodes: Sequence[NodeProto] = src.node
        self._total: dict[str, int] | None = None
        self._counts: dict[str, int] | None = None
        self._outer: list[str] | None = None

    def __repr__(self) -> str:
        return f"<GraphItem {self.kind} {path_to_str(self.path)} {self.name!r}>"

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def name(self) -> str:
        """The graph's or function's own name."""
        src = self.graph if self.graph is not None else self.function
        return src.name if src is not None else ""

    @property
    def function_name(self) -> str | None:
        """Qualified name for a function body (`domain.name`), else None."""
        f = self.function
        return None if f is None else function_id(f.domain, f.name, f.overload)

    @property
    def node_count(self) -> int:
        return len(self._nodes)

    @property
    def has_children(self) -> bool:
        return len(self._nodes) > 0

    @property
    def child_count(self) -> int:
        return len(self._nodes)

    def children(self, start: int = 0, stop: int | None = None) -> Iterator[NodeItem]:
        """Node items `start:stop`, built on demand (and cached by the tree)."""
        n = len(self._nodes)
        stop = n if stop is None else min(stop, n)
        for i in range(max(start, 0), stop):
            yield self.child(i)

    def child(self, index: int) -> NodeItem:
        """The node item at `index` in this graph."""
        if not 0 <= index < len(self._nodes):
            raise KeyError(f"no node {index} in {path_to_str(self.path)}")
        path = (*self.path, index)
        item = self.tree._items.get(path)
        if item is None:
            item = NodeItem(self.tree, path, self._nodes[index], index, self)
            self.tree._items[path] = item
        return item  # type: ignore[return-value]

    @property
    def counts(self) -> dict[str, int]:
        """Control-flow ops directly in this graph (not in nested graphs)."""
        if self._counts is None:
            self._counts = empty_counts()
            for n in self._nodes:
                if is_control_flow(n):
                    self._counts[n.op_type] += 1
        return dict(self._counts)

    @property
    def total_counts(self) -> dict[str, int]:
        """Control-flow ops in this graph, its subgraphs and inlined functions (cached)."""
        if self._total is None:
            self._total = self.tree._count_nodes(self._nodes, self.call_stack)
        return dict(self._total)

    @cached_property
    def inputs(self) -> list[ValueInfo]:
        if self.graph is not None:
            return [self.scope.lookup(vi.name) for vi in self.graph.input]
        assert self.function is not None
        return [self.scope.lookup(n) for n in self.function.input]

    @cached_property
    def outputs(self) -> list[ValueInfo]:
        if self.graph is not None:
            return [self.scope.lookup(vi.name) for vi in self.graph.output]
        assert self.function is not None
        return [self.scope.lookup(n) for n in self.function.output]

    @property
    def outer_scope_reads(self) -> list[str]:
        """Names used here (or in nested subgraphs) but defined in an enclosing graph."""
        if self._outer is None:
            if self.kind == "graph":
                self._outer = []
            elif self.graph is not None:
                self._outer = graph_outer_reads(self.graph)
            else:
                assert self.function is not None
                self._outer = undefined_reads(
                    self.function.node, set(self.function.input), self.function.output
                )
        return list(self._outer)

    def label_parts(self) -> list[tuple[str, str]]:
        """`then_branch  (2 nodes)` as (text, style) pieces; names escaped and shortened."""
        count = (f"  ({plural(self.node_count, 'node')})", "dim")
        if self.kind == "function":
            name = safe_text(self.function_name or "", _MAX_LABEL_NAME)
            return [("function ", "cyan"), (name, "bold cyan"), count]
        if self.kind == "subgraph":
            return [(safe_text(self.attr_name or "", _MAX_LABEL_NAME), "bold yellow"), count]
        return [(safe_text(self.name, _MAX_LABEL_NAME) or "main graph", "bold"), count]


class NodeItem:
    """One node; its children are its graph attributes and any inlined local function."""

    kind: ItemKind = "node"

    def __init__(
        self, tree: OnnxTree, path: ItemPath, proto: NodeProto, index: int, parent: GraphItem
    ) -> None:
        tree.items_created += 1
        self.tree = tree
        self.path = path
        self.proto = proto
        self.index = index
        self.parent = parent
        self._keys: list[str] | None = None
        self._fkey: FunctionKey | None = None
        self._fkey_resolved = False

    def __repr__(self) -> str:
        return f"<NodeItem {path_to_str(self.path)} {self.op_type} {self.display_name!r}>"

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def domain(self) -> str:
        return self.proto.domain

    @property
    def name(self) -> str:
        """The node's own name (may be empty; see `display_name`)."""
        return self.proto.name

    @property
    def display_name(self) -> str:
        return self.proto.name or f"{self.proto.op_type}#{self.index}"

    @property
    def is_control_flow(self) -> bool:
        return is_control_flow(self.proto)

    @property
    def function_key(self) -> FunctionKey | None:
        """(domain, name, overload) of the local function this node calls, if any."""
        if not self._fkey_resolved:
            self._fkey = self.tree._function_key(self.proto)
            self._fkey_resolved = True
        return self._fkey

    @property
    def function_name(self) -> str | None:
        key = self.function_key
        return None if key is None else function_id(*key)

    @property
    def is_recursive_call(self) -> bool:
        """Calls a function already being inlined above it (its body is not inlined again)."""
        key = self.function_key
        return key is not None and key in self.parent.call_stack

    @property
    def is_too_deep_call(self) -> bool:
        """Calls a function `MAX_CALL_DEPTH` calls deep: shown as a call, not inlined (a
        hostile 1,000-deep chain would otherwise nest the tree 1,000 levels)."""
        return self.function_key is not None and len(self.parent.call_stack) >= MAX_CALL_DEPTH

    @property
    def inlines_body(self) -> bool:
        """Whether the tree shows the called function's body under this node."""
        return (
            self.function_key is not None
            and not self.is_recursive_call
            and not self.is_too_deep_call
        )

    @property
    def summary(self) -> str:
        return node_summary(self.proto)

    def _child_keys(self) -> list[str]:
        if self._keys is None:
            keys = [k for k, _ in graph_attributes(self.proto)]
            if self.inlines_body:
                keys.append(FUNCTION_STEP)
            self._keys = keys
        return self._keys

    @property
    def has_children(self) -> bool:
        if self._keys is not None:
            return bool(self._keys)
        if has_graph_attribute(self.proto):
            return True
        return self.inlines_body

    @property
    def child_count(self) -> int:
        return len(self._child_keys())

    def children(self, start: int = 0, stop: int | None = None) -> Iterator[GraphItem]:
        """Subgraph items in attribute order, then the inlined function body (if any)."""
        for key in self._child_keys()[start:stop]:
            yield self.child(key)

    def child(self, key: str) -> GraphItem:
        """The graph item for a path step (`then_branch`, `branches[1]`, `@function`)."""
        path = (*self.path, key)
        item = self.tree._items.get(path)
        if item is not None:
            return item  # type: ignore[return-value]
        if key not in self._child_keys():
            raise KeyError(f"no graph {key!r} under {path_to_str(self.path)}")
        if key == FUNCTION_STEP:
            fkey = self.function_key
            assert fkey is not None
            fn = self.tree._functions[fkey]
            scope = self._call_scope(fn)
            item = GraphItem(
                self.tree,
                path,
                kind="function",
                scope=scope,
                function=fn,
                parent=self,
                call_stack=(*self.parent.call_stack, fkey),
            )
        else:
            graph = dict(graph_attributes(self.proto))[key]
            item = GraphItem(
                self.tree,
                path,
                kind="subgraph",
                scope=Scope(self.parent.scope, graph=graph),
                graph=graph,
                attr_name=key,
                parent=self,
                call_stack=self.parent.call_stack,
            )
        self.tree._items[path] = item
        return item

    def _call_scope(self, fn: FunctionProto) -> Scope:
        """Scope for an inlined body: formal parameters typed from the call's arguments.

        Functions carry no value_info of their own, so the body's intermediate types are
        inferred on first lookup from the argument types at this call.
        """
        caller = self.parent.scope
        bindings: dict[str, ScopeEntry] = {}
        for formal, actual in zip(fn.input, self.proto.input, strict=False):
            found = caller.entry(actual)
            if formal and found is not None:
                bindings[formal] = found
        for formal, actual in zip(fn.output, self.proto.output, strict=False):
            found = caller.entry(actual)
            if formal and found is not None:
                bindings[formal] = found
        tree = self.tree
        return Scope(
            None,
            function=fn,
            bindings=bindings,
            extra=lambda: tree._infer_body_types(fn, bindings),
        )

    def label_parts(self) -> list[tuple[str, str]]:
        """The row label as (text, style) pieces, every piece already escaped."""
        parts: list[tuple[str, str]] = []
        if self.is_control_flow:
            parts.append((CF_MARKER, CF_STYLE))
            op_style = CF_STYLE
        elif self.function_key is not None:
            parts.append((FUNCTION_MARKER, "cyan"))
            op_style = "bold cyan"
        else:
            op_style = "bold"
        if self.domain not in STANDARD_DOMAINS:
            parts.append((f"{safe_text(self.domain, _MAX_LABEL_OP)}::", "dim"))
        parts.append((safe_text(self.op_type, _MAX_LABEL_OP), op_style))
        parts.append(("  ", ""))
        parts.append((safe_text(self.display_name, _MAX_LABEL_NAME), "dim"))
        parts.append(("  ", ""))
        parts.append((self.summary, ""))
        if self.is_recursive_call:
            parts.append(("  ↻ recursive call", "dim"))
        elif self.is_too_deep_call:
            parts.append((f"  ⋯ {MAX_CALL_DEPTH} calls deep: not inlined", "dim"))
        return parts

    def plain_label(self) -> str:
        """The label as plain text (the headless tree prints 100k of them)."""
        return "".join(piece for piece, _ in self.label_parts())

    def detail(self) -> NodeDetail:
        """Types, attributes, outer-scope reads and metadata of this node."""
        scope = self.parent.scope
        outer: dict[str, None] = {}
        for key in self._child_keys():
            if key != FUNCTION_STEP:
                outer.update(dict.fromkeys(self.child(key).outer_scope_reads))
        p = self.proto
        notes: list[str] = []
        if self.function_key is None:
            note = unknown_op_note(p.op_type, p.domain)
            if note is not None:
                notes.append(note)
        # every string is escaped for a terminal here (full length), so any consumer is safe
        return NodeDetail(
            op_type=safe_text(p.op_type),
            domain=safe_text(p.domain),
            name=safe_text(self.display_name),
            path=path_to_str(self.path),
            inputs=[safe_value(scope.lookup(n)) if n else ValueInfo("") for n in p.input],
            outputs=[safe_value(scope.lookup(n)) if n else ValueInfo("") for n in p.output],
            attributes=[(safe_text(a.name), safe_text(node_attribute(a))) for a in p.attribute],
            outer_scope_reads=[safe_text(n) for n in outer],
            function=None if self.function_name is None else safe_text(self.function_name),
            doc_string=safe_text(p.doc_string, multiline=True),
            metadata={
                safe_text(m.key): safe_text(m.value, multiline=True) for m in p.metadata_props
            },
            notes=notes,
        )


Item = GraphItem | NodeItem
