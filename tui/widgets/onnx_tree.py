"""`OnnxTreeView`: an `OnnxTree` as a Textual Tree, built lazily and in chunks.

Rows exist only for what the user has opened: expanding a graph builds its first `CHUNK`
nodes at once and a few more chunks in the background (yielding to the event loop between
chunks); the rest of a wide graph is a placeholder row (`Gap`) that loads the next chunk
when the cursor reaches it. So a 100k-node model opens at once and never builds 100k rows
unless somebody scrolls through all of them.
"""

from __future__ import annotations

import asyncio
import threading
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from onnx import NodeProto
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID
from textual.worker import get_current_worker

from cfexplore.graph.describe import graph_attributes
from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import ItemPath
from cfexplore.render.labels import item_label

CHUNK = 250
"""Rows built per event-loop slice (a row costs ~24 µs on the UI thread)."""
EAGER_ROWS = 500
"""Rows of one graph built after it is expanded; beyond that, rows load as the cursor goes."""
MAX_FILTER_MATCHES = 500
"""Matches a filter shows (all are counted)."""
MAX_EXPAND_NODES = 200
"""Control-flow nodes `expand_control_flow` opens per call."""
MAX_EXPAND_ROWS = 5_000
"""Rows `expand_control_flow` may build per call before it stops."""

Item = GraphItem | NodeItem


@dataclass(eq=False)
class Gap:
    """A placeholder row for the nodes `start:stop` of `graph` that are not built yet."""

    graph: GraphItem
    start: int
    stop: int
    queued: bool = False
    """Background loading will fill it (the label says `loading…`)."""

    @property
    def count(self) -> int:
        return self.stop - self.start

    def label(self) -> Text:
        n = self.count
        noun = "node" if n == 1 else "nodes"
        if self.queued:
            return Text(f"loading… {n:,} more {noun}", style="dim italic")
        return Text.assemble(
            (f"… {n:,} more {noun}", "italic"),
            (f"  #{self.start:,}–#{self.stop - 1:,} · Enter loads {min(n, CHUNK)}", "dim"),
        )


Row = GraphItem | NodeItem | Gap
"""What a tree row's `data` holds."""


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


def _highlight(label: Text, needle: str) -> Text:
    """`label` with the first occurrence of `needle` (case-insensitive) emphasised."""
    low = label.plain.lower()
    if len(low) == len(label.plain) and needle:
        at = low.find(needle.lower())
        if at >= 0:
            label.stylize("reverse", at, at + len(needle))
    return label


class OnnxTreeView(Tree[Row]):
    """The nodes of an ONNX model; If/Loop/Scan rows expand into their bodies, lazily.

    API: `show_model`, `expand_control_flow`, `collapse_everything`, `goto_control_flow`,
    `apply_filter`, `reveal`. Posts `ItemHighlighted` with the model item under the cursor.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "expand_or_down", "Expand", show=False),
        Binding("left", "collapse_or_up", "Collapse / to parent", show=False),
        Binding("home,g", "first_row", "First row", show=False),
        Binding("end,G", "last_row", "Last row", show=False),
    ]

    DEFAULT_CSS = """
    OnnxTreeView {
        scrollbar-size-horizontal: 1;
    }
    """

    class ItemHighlighted(Message):
        """The cursor moved to a model item (None: a placeholder row)."""

        def __init__(self, view: OnnxTreeView, item: Item | None) -> None:
            super().__init__()
            self.view = view
            self.item = item

        @property
        def control(self) -> OnnxTreeView:
            return self.view

    class FilterApplied(Message):
        """A filter was applied (`text` empty: cleared); `shown` of `total` matches are rows."""

        def __init__(self, view: OnnxTreeView, text: str, shown: int, total: int) -> None:
            super().__init__()
            self.view = view
            self.text = text
            self.shown = shown
            self.total = total

        @property
        def control(self) -> OnnxTreeView:
            return self.view

    class _FilterFound(Message):
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
        super().__init__(Text("no model", style="dim"), id=id, classes=classes)
        self.guide_depth = 3
        self.model: OnnxTree | None = None
        """The model on show."""
        self.filter_text = ""
        """The active filter ("" when the whole model is shown)."""
        self._cfx_matches: list[ItemPath] = []
        """The shown page of filter matches, in display order."""
        self._cfx_match_keys: list[tuple[float, ...]] = []
        self._cfx_match_start = 0
        self._cfx_match_total = 0
        self._rows: dict[ItemPath, TreeNode[Row]] = {}
        self._loaded: set[TreeNode[Row]] = set()
        self._queue: deque[tuple[int, TreeNode[Row], int]] = deque()
        self._pump_running = False
        self._generation = 0
        self._last_line = -1
        self._cf_keys: list[tuple[float, ...]] = []
        self._cf_paths: list[ItemPath] = []
        self._cf_iter: Iterator[NodeItem] | None = None
        self._cf_done = False
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
            self._cf_keys, self._cf_paths = [], []
            self._cf_iter, self._cf_done = None, False
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
                    _highlight(item_label(node.data), self.filter_text)
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

    def expand_control_flow(self) -> None:
        """Expand every path to an If/Loop/Scan and their bodies (bounded, in the background)."""
        if self.model is not None:
            self.run_worker(
                self._expand_control_flow(),
                name="expand control flow",
                group="onnx-tree-expand",
                exclusive=True,
                exit_on_error=False,
            )

    def collapse_everything(self) -> None:
        """Collapse every row below the root; the cursor goes to its top-level row."""
        for node in list(self._loaded):
            if node is not self.root and node.is_expanded:
                node.collapse()
        top = self.cursor_node
        while top is not None and top.parent is not None and top.parent is not self.root:
            top = top.parent
        if top is not None:
            self._move_to(top)

    def goto_control_flow(self, forward: bool = True) -> NodeItem | None:
        """Move to the next (or previous) control-flow node, wrapping around at the ends."""
        if self.model is None:
            return None
        if self.filter_text:
            return self.step_match(forward)
        path, wrapped = self._next_control_flow(self._cursor_key(), forward)
        if path is None:
            self.notify(
                "No If/Loop/Scan in this model.", severity="warning", timeout=3, markup=False
            )
            return None
        if wrapped:
            where = "first" if forward else "last"
            self.notify(
                f"Wrapped around to the {where} control-flow node.", timeout=2, markup=False
            )
        self.reveal(path)
        item = self.highlighted_item
        return item if isinstance(item, NodeItem) else None

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
            self.run_worker(self._pump(), name="build rows", group="onnx-tree-rows")

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

    @on(_FilterFound)
    def _filter_found(self, event: _FilterFound) -> None:
        if event.generation != self._generation or event.tree is not self.model:
            return
        self._show_filtered(event.text, event.paths, event.total, event.start, event.at_end)

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

    # -- actions ----------------------------------------------------------------------

    def action_first_row(self) -> None:
        """Home / g: the first row (the model's root line)."""
        self._move_to(self.root)

    def action_last_row(self) -> None:
        """End / G: the last row of the tree as shown, building the last chunk of every
        open graph on the way down (rows are built lazily; a 100k-node graph has most of
        its rows still unbuilt)."""
        node = self.root
        while node.is_expanded and node.children:
            last = node.children[-1]
            if isinstance(last.data, Gap):
                last.data.queued = False
                rows = self._fill_gap(last, "end")
                last = rows[-1] if rows else node.children[-1]
            node = last
        self._move_to(node)

    def action_expand_or_down(self) -> None:
        """Right arrow: expand a collapsed row, else go to its first child."""
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            self._load_children(node)
            node.expand()
        elif node.children:
            self._move_to(node.children[0])

    def action_collapse_or_up(self) -> None:
        """Left arrow: collapse an expanded row, else go to its parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded and node is not self.root:
            node.collapse()
        elif node.parent is not None:
            self._move_to(node.parent)

    # -- expand / navigate control flow -------------------------------------------------

    async def _expand_control_flow(self) -> None:
        model, generation = self.model, self._generation
        assert model is not None
        opened, start_rows = 0, len(self._rows)
        stopped = False
        for i, item in enumerate(model.iter_control_flow()):
            if generation != self._generation:
                return
            if opened >= MAX_EXPAND_NODES or len(self._rows) - start_rows > MAX_EXPAND_ROWS:
                stopped = True
                break
            node = self._ensure_row(item.path)
            if node is not None:
                self._expand_ancestors(node)
                self._load_children(node)
                node.expand()
                for sub in node.children:
                    self._load_children(sub)
                    sub.expand()
                opened += 1
            if i % 16 == 15:
                await asyncio.sleep(0)
        if self.cursor_node is not None:
            self._move_to(self.cursor_node)
        if opened == 0:
            self.notify("No If/Loop/Scan to expand.", timeout=3, markup=False)
        elif stopped:
            total = sum(model.total_counts.values())
            self.notify(
                f"Expanded the first {opened:,} of {total:,} control-flow nodes; "
                "press n to go further.",
                timeout=4,
                markup=False,
            )

    def _order_key(self, path: ItemPath) -> tuple[float, ...]:
        """Display-order key of a path (graph attribute names become their position)."""
        assert self.model is not None
        key: list[float] = []
        item: Item = self.model.root
        for step in path:
            if isinstance(step, int):
                assert isinstance(item, GraphItem)
                key.append(step)
                item = item.child(step)
            else:
                assert isinstance(item, NodeItem)
                keys = [sub.path[-1] for sub in item.children()]
                key.append(keys.index(step))
                item = item.child(step)
        return tuple(key)

    def _cursor_key(self) -> tuple[float, ...]:
        node = self.cursor_node
        data = node.data if node is not None else None
        if isinstance(data, Gap):
            return (*self._order_key(data.graph.path), data.start - 0.5)
        if isinstance(data, GraphItem | NodeItem):
            return self._order_key(data.path)
        return ()

    def _consume_control_flow(self, count: int) -> None:
        assert self.model is not None
        if self._cf_iter is None:
            self._cf_iter = self.model.iter_control_flow()
        for _ in range(count):
            item = next(self._cf_iter, None)
            if item is None:
                self._cf_done = True
                return
            self._cf_paths.append(item.path)
            self._cf_keys.append(self._order_key(item.path))

    def _next_control_flow(
        self, key: tuple[float, ...], forward: bool
    ) -> tuple[ItemPath | None, bool]:
        """(path of the next/previous control-flow node after `key`, whether it wrapped)."""
        keys, paths = self._cf_keys, self._cf_paths
        if forward:
            while not self._cf_done and (not keys or keys[-1] <= key):
                self._consume_control_flow(64)
            i = bisect_right(keys, key)
            if i < len(keys):
                return paths[i], False
            return (paths[0], True) if paths else (None, False)
        while not self._cf_done and (not keys or keys[-1] < key):
            self._consume_control_flow(64)
        i = bisect_left(keys, key) - 1
        if i >= 0:
            return paths[i], False
        while not self._cf_done:
            self._consume_control_flow(1024)
        return (paths[-1], True) if paths else (None, False)

    # -- filter -----------------------------------------------------------------------

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

    def _show_filtered(
        self, text: str, paths: list[ItemPath], total: int, start: int = 0, at_end: bool = False
    ) -> None:
        """Rows for the page's matches and their ancestors only; matches stay expandable."""
        assert self.model is not None
        self._cfx_matches, self._cfx_match_start, self._cfx_match_total = paths, start, total
        self._cfx_match_keys = [self._order_key(p) for p in paths]
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
        model = self.model
        for path in paths:
            parent = self.root
            for k in range(1, len(path) + 1):
                prefix = path[:k]
                node = self._rows.get(prefix)
                if node is None:
                    item = model.node_by_path(prefix)
                    mark = _highlight(item_label(item), text) if k == len(path) else None
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
