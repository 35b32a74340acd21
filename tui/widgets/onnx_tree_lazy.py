"""`LazyOnnxTree`: an `OnnxTree` as a Textual Tree, built lazily and in chunks.

Rows exist only for what the user has opened: expanding a graph builds its first `CHUNK`
nodes at once and a few more chunks in the background (yielding to the event loop between
chunks); the rest of a wide graph is a placeholder row (`Gap`) that loads the next chunk
when the cursor reaches it. So a 100k-node model opens at once and never builds 100k rows
unless somebody scrolls through all of them.

The filter (`onnx_tree_filter`), the control-flow jumps (`onnx_tree_control_flow`) and the
keys (`onnx_tree.OnnxTreeView`) are layers on top of this one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Literal

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID

from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import ItemPath
from cfexplore.render.labels import item_label

from ..worker_errors import ShowsWorkerErrors
from .onnx_tree_rows import CHUNK, EAGER_ROWS, Gap, Item, Row, highlight, order_key


class LazyOnnxTree(ShowsWorkerErrors, Tree[Row]):
    """The rows of an ONNX model, built when their parent opens or the cursor reaches them.

    Posts `ItemHighlighted` with the model item under the cursor. A failed worker of the
    tree's (building rows, filtering, expanding) shows in the app (`ShowsWorkerErrors`).
    """

    class ItemHighlighted(Message, namespace="onnx_tree_view"):
        """The cursor moved to a model item (None: a placeholder row)."""

        def __init__(self, view: LazyOnnxTree, item: Item | None) -> None:
            super().__init__()
            self.view = view
            self.item = item

        @property
        def control(self) -> LazyOnnxTree:
            return self.view

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(Text("no model", style="dim"), id=id, classes=classes)
        self.guide_depth = 3
        self.model: OnnxTree | None = None
        """The model on show."""
        self.filter_text = ""
        """The active filter ("" when the whole model is shown)."""
        self._rows: dict[ItemPath, TreeNode[Row]] = {}
        self._loaded: set[TreeNode[Row]] = set()
        self._queue: deque[tuple[int, TreeNode[Row], int]] = deque()
        self._pump_running = False
        self._generation = 0
        self._last_line = -1
        self.badges: dict[ItemPath, Text] = {}
        """Item path -> text shown after its label (see `set_badges`)."""

    # -- public API -------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Tree rows built so far (placeholders included, root excluded)."""
        count, stack = 0, [self.root]
        while stack:
            node = stack.pop()
            count += len(node.children)
            stack.extend(node.children)
        return count

    @property
    def highlighted_item(self) -> Item | None:
        """The model item under the cursor, if any."""
        node = self.cursor_node
        data = node.data if node is not None else None
        return None if isinstance(data, Gap) else data

    def show_model(self, tree: OnnxTree) -> None:
        """Show `tree`: the root and the first chunk of its nodes now, more in the background."""
        if tree is not self.model:
            self.badges = {}
        self.model = tree
        self.filter_text = ""
        self._reset(item_label(tree.root), tree.root)
        self._rows[()] = self.root
        self._load_children(self.root)
        self.root.expand()
        self._move_to(self.root)

    def set_badges(self, badges: dict[ItemPath, Text]) -> None:
        """Show `badges` after the labels of those items (branch trace, audit flags).

        Rows already built are relabelled now; rows built later get theirs when added.
        """
        old, self.badges = self.badges, dict(badges)
        for path in set(old) | set(self.badges):
            node = self._rows.get(path)
            if node is not None and isinstance(node.data, GraphItem | NodeItem):
                label = (
                    highlight(item_label(node.data), self.filter_text)
                    if self.filter_text
                    else (item_label(node.data))
                )
                node.set_label(self._with_badge(node.data, label))

    def _with_badge(self, item: Item, label: Text) -> Text:
        badge = self.badges.get(item.path)
        # in front: a long in -> out summary would push a trailing badge off screen
        return Text.assemble(badge, " ", label) if badge is not None else label

    def clear_model(self, message: str = "no model") -> None:
        """Show nothing but `message` as the root label."""
        self.model = None
        self.filter_text = ""
        self._reset(Text(message, style="dim"), None)

    def reveal(self, path: Sequence[int | str]) -> bool:
        """Select the item at `path`, building and expanding its ancestors (False: no such row)."""
        node = self._ensure_row(tuple(path))
        if node is None:
            return False
        self._expand_ancestors(node)
        self._move_to(node, center=True)
        return True

    # -- building rows ----------------------------------------------------------------

    def _reset(self, label: Text, data: Row | None) -> None:
        self._generation += 1
        self._queue.clear()
        self._rows.clear()
        self._loaded.clear()
        self._last_line = -1
        self.reset(label, data)

    def _add_row(
        self,
        parent: TreeNode[Row],
        item: Item,
        before: int | None = None,
        label: Text | None = None,
    ) -> TreeNode[Row]:
        node = parent.add(
            self._with_badge(item, label if label is not None else item_label(item)),
            item,
            before=before,
            allow_expand=item.has_children,
        )
        self._rows[item.path] = node
        return node

    def _load_children(self, node: TreeNode[Row]) -> None:
        """Build the rows under `node` (once): all subgraphs, or a graph's first chunk."""
        data = node.data
        if node in self._loaded or not isinstance(data, GraphItem | NodeItem):
            return
        self._loaded.add(node)
        if isinstance(data, NodeItem):
            for sub in data.children():
                self._add_row(node, sub)
            return
        n = data.child_count
        first = min(n, CHUNK)
        for child in data.children(0, first):
            self._add_row(node, child)
        if n > first:
            gap = node.add(Text(""), Gap(data, first, n), allow_expand=False)
            self._queue_gap(gap, EAGER_ROWS - first)

    def _queue_gap(self, gap_node: TreeNode[Row], budget: int) -> None:
        gap = gap_node.data
        assert isinstance(gap, Gap)
        gap.queued = budget > 0
        gap_node.set_label(gap.label())
        if budget <= 0:
            return
        self._queue.append((self._generation, gap_node, budget))
        if not self._pump_running:
            self._pump_running = True
            self.run_worker(
                self._pump(), name="build rows", group="onnx-tree-rows", exit_on_error=False
            )

    async def _pump(self) -> None:
        """Fill queued gaps a chunk at a time, yielding to the event loop in between."""
        try:
            while self._queue:
                generation, gap_node, budget = self._queue.popleft()
                gap = gap_node.data
                if generation != self._generation or not self._alive(gap_node):
                    continue
                if not isinstance(gap, Gap) or not gap.queued:
                    continue
                gap.queued = False
                self._fill_gap(gap_node, "start")
                if self._alive(gap_node):
                    self._queue_gap(gap_node, budget - CHUNK)
                await asyncio.sleep(0)
        finally:
            self._pump_running = False

    def _alive(self, node: TreeNode[Row]) -> bool:
        try:
            return self.get_node_by_id(node.id) is node
        except UnknownNodeID:
            return False

    def _fill_gap(
        self, gap_node: TreeNode[Row], where: Literal["start", "end"] | int
    ) -> list[TreeNode[Row]]:
        """Build one chunk of a gap (its start, its end, or around an index); return the rows."""
        gap = gap_node.data
        parent = gap_node.parent
        assert isinstance(gap, Gap) and parent is not None
        a, b = gap.start, gap.stop
        if where == "start":
            c0 = a
        elif where == "end":
            c0 = max(a, b - CHUNK)
        else:
            c0 = max(a, where - where % CHUNK)
        c1 = min(b, c0 + CHUNK)
        pos = parent.children.index(gap_node)
        items = list(gap.graph.children(c0, c1))
        if c0 > a:  # the gap keeps the part above; rows (and a new gap) go below it
            gap.stop = c0
            rows = [self._add_row(parent, it, before=pos + 1 + i) for i, it in enumerate(items)]
            if c1 < b:
                tail = parent.add(
                    Text(""), Gap(gap.graph, c1, b), before=pos + 1 + len(items), allow_expand=False
                )
                self._queue_gap(tail, 0)
        else:
            rows = [self._add_row(parent, it, before=pos + i) for i, it in enumerate(items)]
            if c1 < b:
                gap.start = c1
            else:
                gap_node.remove()
        if self._alive(gap_node):
            gap_node.set_label(gap.label())
        return rows

    def _ensure_row(self, path: ItemPath) -> TreeNode[Row] | None:
        """The row for `path`, building the chunks that lead to it (None: not in the tree)."""
        node = self._rows.get(path)
        if node is not None or not path or self.model is None:
            return node
        parent = self._ensure_row(path[:-1])
        if parent is None:
            return None
        self._load_children(parent)
        node = self._rows.get(path)
        step = path[-1]
        if node is None and isinstance(step, int) and isinstance(parent.data, GraphItem):
            for child in parent.children:
                gap = child.data
                if isinstance(gap, Gap) and gap.start <= step < gap.stop:
                    gap.queued = False
                    self._fill_gap(child, step)
                    break
            node = self._rows.get(path)
        return node

    def _expand_ancestors(self, node: TreeNode[Row]) -> None:
        parent = node.parent
        while parent is not None:
            if not parent.is_expanded:
                self._load_children(parent)
                parent.expand()
            parent = parent.parent

    # -- the cursor -------------------------------------------------------------------

    def _move_to(self, node: TreeNode[Row], center: bool = False) -> None:
        """Put the cursor on `node` (rebuilding the line index first) and scroll to it."""
        _ = self.last_line  # rebuilds the line index, so `node.line` is current
        before = self.cursor_line
        self.move_cursor(node)
        self.center_scroll, previous = center, self.center_scroll
        self.scroll_to_node(node, animate=False)
        self.center_scroll = previous
        if self.cursor_line == before and not isinstance(node.data, Gap):
            # Same line, new row (after a rebuild): Tree posts no highlight, so we do.
            self._last_line = self.cursor_line
            self.post_message(self.ItemHighlighted(self, node.data))

    def _cursor_key(self) -> tuple[float, ...]:
        """Display-order key of the row under the cursor (a gap sorts before its nodes)."""
        node = self.cursor_node
        data = node.data if node is not None else None
        if isinstance(data, Gap):
            assert self.model is not None
            return (*order_key(self.model, data.graph.path), data.start - 0.5)
        if isinstance(data, GraphItem | NodeItem):
            assert self.model is not None
            return order_key(self.model, data.path)
        return ()

    # -- events -----------------------------------------------------------------------

    @on(Tree.NodeExpanded)
    def _node_expanded(self, event: Tree.NodeExpanded[Row]) -> None:
        self._load_children(event.node)

    @on(Tree.NodeHighlighted)
    def _node_highlighted(self, event: Tree.NodeHighlighted[Row]) -> None:
        node = event.node
        previous, self._last_line = self._last_line, node.line
        if node is not self.cursor_node:
            return  # stale: the cursor has moved on (a held-down key)
        data = node.data
        if isinstance(data, Gap):
            self._load_gap_under_cursor(node, "start" if previous < node.line else "end")
            return
        self._scroll_x_to(node)
        self.post_message(self.ItemHighlighted(self, data))

    @on(Tree.NodeSelected)
    def _node_selected(self, event: Tree.NodeSelected[Row]) -> None:
        if isinstance(event.node.data, Gap) and self._alive(event.node):
            self._load_gap_under_cursor(event.node, "start")

    def _load_gap_under_cursor(self, node: TreeNode[Row], where: Literal["start", "end"]) -> None:
        gap = node.data
        assert isinstance(gap, Gap)
        gap.queued = False
        self.unselect()  # so the rebuild does not chase the placeholder row
        rows = self._fill_gap(node, where)
        if rows:
            self._move_to(rows[0] if where == "start" else rows[-1])

    def get_label_width(self, node: TreeNode[Row]) -> int:
        """Cheaper than rendering the label: Tree calls this for every row on each rebuild."""
        label = node.label
        width = label.cell_len if isinstance(label, Text) else len(str(label))
        return width + (len(self.ICON_NODE) if node.allow_expand else 0)

    def _scroll_x_to(self, node: TreeNode[Row]) -> None:
        """Keep a deeply nested row's label on screen (Tree never scrolls sideways itself)."""
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        indent = depth * self.guide_depth
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        if indent < self.scroll_x or indent > self.scroll_x + width * 2 // 3:
            self.scroll_to(x=max(0, indent - width // 3), animate=False)
