"""What a row of the ONNX tree holds, how its label looks, and where it goes in display order.

A row's `data` is a model item (`GraphItem`, `NodeItem`) or a `Gap`: the placeholder for
the nodes of a wide graph that have no rows yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import ItemPath

CHUNK = 250
"""Rows built per event-loop slice (a row costs ~24 µs on the UI thread)."""
EAGER_ROWS = 500
"""Rows of one graph built after it is expanded; beyond that, rows load as the cursor goes."""

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


def highlight(label: Text, needle: str) -> Text:
    """`label` with the first occurrence of `needle` (case-insensitive) emphasised."""
    low = label.plain.lower()
    if len(low) == len(label.plain) and needle:
        at = low.find(needle.lower())
        if at >= 0:
            label.stylize("reverse", at, at + len(needle))
    return label


def order_key(model: OnnxTree, path: ItemPath) -> tuple[float, ...]:
    """Display-order key of a path (graph attribute names become their position)."""
    key: list[float] = []
    item: Item = model.root
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
