"""Tree-row labels as rich `Text`, from the plain (text, style) pieces the graph model gives."""

from __future__ import annotations

from rich.text import Text

from cfexplore.graph.items import Item


def item_label(item: Item) -> Text:
    """The styled row label of a graph or node item (every piece is already escaped)."""
    text = Text()
    for piece, style in item.label_parts():
        text.append(piece, style=style)
    return text
