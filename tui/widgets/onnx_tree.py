"""`OnnxTreeView`: the nodes of an ONNX model as a Textual Tree, with its keys and styles.

The behaviour comes in layers, one module each: row data and labels (`onnx_tree_rows`),
lazy chunked rows (`onnx_tree_lazy`), the filter (`onnx_tree_filter`) and the control-flow
moves (`onnx_tree_control_flow`).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from .onnx_tree_control_flow import ControlFlowOnnxTree
from .onnx_tree_filter import find_matches
from .onnx_tree_rows import CHUNK, Gap

# CHUNK, Gap and find_matches: still importable from here (tests, benchmarks)
__all__ = ["CHUNK", "Gap", "OnnxTreeView", "find_matches"]


class OnnxTreeView(ControlFlowOnnxTree):
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
