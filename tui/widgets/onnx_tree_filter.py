"""The ONNX tree's filter: find the nodes whose op type or name matches, show only them.

`find_matches` walks the model's protos (off the UI thread); `FilteredOnnxTree` shows one
page of matches with their ancestors and steps through them with n/N.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from onnx import NodeProto
from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.worker import get_current_worker

from cfexplore.graph.describe import graph_attributes
from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import ItemPath
from cfexplore.render.labels import item_label

from .onnx_tree_lazy import LazyOnnxTree
from .onnx_tree_rows import highlight, order_key

MAX_FILTER_MATCHES = 500
"""Matches a filter shows (all are counted)."""


def find_matches(
    tree: OnnxTree,
    text: str,
    limit: int = MAX_FILTER_MATCHES,
    cancel: threading.Event | None = None,
    skip: int = 0,
) -> tuple[list[ItemPath], int]:
    """Paths of nodes whose op type or name contains `text` (case-insensitive).

    Walks the protos in display order (subgraphs and inlined functions included) and only
    builds items for nodes that have children, so it stays cheap on a 100k-node model.
    Returns `limit` paths after the first `skip` matches (one page), and the total number
    of matches.
    """
    needle = text.strip().lower()
    functions = {(f.domain, f.name) for f in tree.model.functions}
    found: list[ItemPath] = []
    total = 0
    stack: list[tuple[GraphItem, Sequence[NodeProto], int]] = [(tree.root, _nodes_of(tree.root), 0)]
    steps = 0
    while stack:
        graph, nodes, i = stack[-1]
        if i >= len(nodes):
            stack.pop()
            continue
        stack[-1] = (graph, nodes, i + 1)
        proto = nodes[i]
        steps += 1
        if cancel is not None and steps % 4096 == 0 and cancel.is_set():
            break
        if needle in proto.op_type.lower() or needle in proto.name.lower():
            total += 1
            if total > skip and len(found) < limit:
                found.append((*graph.path, i))
        calls = (proto.domain, proto.op_type) in functions
        if calls or (proto.attribute and graph_attributes(proto)):
            subs = list(graph.child(i).children())
            stack.extend((sub, _nodes_of(sub), 0) for sub in reversed(subs))
    return found, total


def _nodes_of(graph: GraphItem) -> Sequence[NodeProto]:
    src = graph.graph if graph.graph is not None else graph.function
    return src.node if src is not None else ()


class FilteredOnnxTree(LazyOnnxTree):
    """The lazy tree with a filter: `apply_filter`, `step_match`. Posts `FilterApplied`."""

    class FilterApplied(Message, namespace="onnx_tree_view"):
        """A filter was applied (`text` empty: cleared); `shown` of `total` matches are rows."""

        def __init__(self, view: FilteredOnnxTree, text: str, shown: int, total: int) -> None:
            super().__init__()
            self.view = view
            self.text = text
            self.shown = shown
            self.total = total

        @property
        def control(self) -> FilteredOnnxTree:
            return self.view

    class _FilterFound(Message, namespace="onnx_tree_view"):
        """The filter worker's result (posted from a thread)."""

        def __init__(
            self,
            tree: OnnxTree,
            text: str,
            paths: list[ItemPath],
            total: int,
            generation: int,
            start: int = 0,
            at_end: bool = False,
        ) -> None:
            super().__init__()
            self.tree = tree
            self.text = text
            self.paths = paths
            self.total = total
            self.generation = generation
            self.start = start
            """Index of the page's first match among all matches."""
            self.at_end = at_end
            """Put the cursor on the page's last match (stepping back with N)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._cfx_matches: list[ItemPath] = []
        """The shown page of filter matches, in display order."""
        self._cfx_match_keys: list[tuple[float, ...]] = []
        self._cfx_match_start = 0
        self._cfx_match_total = 0

    def apply_filter(self, text: str) -> None:
        """Show only nodes whose op type or name contains `text`; "" shows everything again."""
        text = text.strip()
        if self.model is None:
            return
        if not text:
            if self.filter_text:
                self._clear_filter()
            return
        self.filter_text = text
        self._filter_page(0)

    def _filter_page(self, start: int, at_end: bool = False) -> None:
        """Rebuild the filtered view with the page of matches that begins at `start`."""
        assert self.model is not None
        text = self.filter_text
        self._reset(Text(f"filtering for “{text}”…", style="dim italic"), self.model.root)
        self._loaded.add(self.root)  # the root's rows come from the filter, not the graph
        self._filter(self.model, text, self._generation, start, at_end)

    def step_match(self, forward: bool = True) -> NodeItem | None:
        """n/N in a filtered view: the next (previous) match, on to the next page of
        matches past the last one shown, wrapping around after the last match."""
        paths, keys = self._cfx_matches, self._cfx_match_keys
        if not paths:
            return None
        # the next match after the cursor row, or the last one before it (display order),
        # whether the cursor is on a match or not
        here = self._cursor_key()
        j = bisect_right(keys, here) if forward else bisect_left(keys, here) - 1
        total, start = self._cfx_match_total, self._cfx_match_start
        if 0 <= j < len(paths):
            node = self._rows.get(paths[j])
            if node is not None:
                self._move_to(node, center=True)
            item = self.highlighted_item
            return item if isinstance(item, NodeItem) else None
        if total <= len(paths):  # one page holds them all: wrap around on it
            node = self._rows.get(paths[j % len(paths)])
            if node is not None:
                self._move_to(node, center=True)
            return None
        if forward:
            nxt = start + len(paths)
            nxt = 0 if nxt >= total else nxt
        else:
            nxt = (
                start - MAX_FILTER_MATCHES
                if start
                else (total - 1) // MAX_FILTER_MATCHES * MAX_FILTER_MATCHES
            )
        self._filter_page(max(nxt, 0), at_end=not forward)
        return None

    @work(thread=True, exclusive=True, group="onnx-tree-filter", exit_on_error=False)
    def _filter(
        self, tree: OnnxTree, text: str, generation: int, start: int = 0, at_end: bool = False
    ) -> None:
        """Find one page of matches off the UI thread; `_show_filtered` builds the rows."""
        worker = get_current_worker()
        paths, total = find_matches(
            tree, text, MAX_FILTER_MATCHES, worker.cancelled_event, skip=start
        )
        if not worker.is_cancelled:
            self.post_message(
                self._FilterFound(tree, text, paths, total, generation, start, at_end)
            )

    @on(_FilterFound)
    def _filter_found(self, event: _FilterFound) -> None:
        if event.generation != self._generation or event.tree is not self.model:
            return
        self._show_filtered(event.text, event.paths, event.total, event.start, event.at_end)

    def _show_filtered(
        self, text: str, paths: list[ItemPath], total: int, start: int = 0, at_end: bool = False
    ) -> None:
        """Rows for the page's matches and their ancestors only; matches stay expandable."""
        assert self.model is not None
        self._cfx_matches, self._cfx_match_start, self._cfx_match_total = paths, start, total
        model = self.model
        self._cfx_match_keys = [order_key(model, p) for p in paths]
        if paths:
            page = (
                f" · {start + 1:,}–{start + len(paths):,} shown, n/N step on"
                if total > len(paths)
                else " · n/N step"
            )
            label = Text.assemble(
                ("filter ", "dim"),
                (f"“{text}”", "bold"),
                (f": {total:,} match{'es' if total != 1 else ''}{page}", "dim"),
                ("  Esc clears", "dim italic"),
            )
        else:
            label = Text.assemble(
                ("no node matches ", "dim"), (f"“{text}”", "bold"), ("  Esc clears", "dim italic")
            )
        self.root.set_label(label)
        self._rows[()] = self.root
        self._loaded.add(self.root)
        for path in paths:
            parent = self.root
            for k in range(1, len(path) + 1):
                prefix = path[:k]
                node = self._rows.get(prefix)
                if node is None:
                    item = model.node_by_path(prefix)
                    mark = highlight(item_label(item), text) if k == len(path) else None
                    node = self._add_row(parent, item, label=mark)
                if k < len(path) and node not in self._loaded:
                    self._loaded.add(node)
                    node.expand()
                parent = node
        self.root.expand()
        first = self._rows.get(paths[-1 if at_end else 0]) if paths else self.root
        self._move_to(first if first is not None else self.root, center=True)
        self.post_message(self.FilterApplied(self, text, len(paths), total))

    def _clear_filter(self) -> None:
        item = self.highlighted_item
        assert self.model is not None
        self.show_model(self.model)
        if item is not None and item.path:
            self.reveal(item.path)
        self.post_message(self.FilterApplied(self, "", 0, 0))
