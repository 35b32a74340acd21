"""The ONNX tree's control-flow moves: expand every If/Loop/Scan, jump to the next one,
collapse everything.

The jumps walk `OnnxTree.iter_control_flow` only as far as they need to and remember the
display-order keys of the nodes found so far.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from cfexplore.graph.items import NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import ItemPath

from .onnx_tree_filter import FilteredOnnxTree
from .onnx_tree_rows import order_key

MAX_EXPAND_NODES = 200
"""Control-flow nodes `expand_control_flow` opens per call."""
MAX_EXPAND_ROWS = 5_000
"""Rows `expand_control_flow` may build per call before it stops."""


class ControlFlowOnnxTree(FilteredOnnxTree):
    """The filtered tree with `expand_control_flow`, `goto_control_flow`, `collapse_everything`."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._cf_keys: list[tuple[float, ...]] = []
        self._cf_paths: list[ItemPath] = []
        self._cf_iter: Iterator[NodeItem] | None = None
        self._cf_done = False

    def show_model(self, tree: OnnxTree) -> None:
        """Show `tree`; a new model's control-flow nodes are looked up afresh."""
        if tree is not self.model:
            self._cf_keys, self._cf_paths = [], []
            self._cf_iter, self._cf_done = None, False
        super().show_model(tree)

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
            self._cf_keys.append(order_key(self.model, item.path))

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
