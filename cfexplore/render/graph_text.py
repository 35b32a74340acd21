"""Static rich rendering of an `OnnxTree`, for `cfexplore tree FILE.onnx --depth N`.

Model-derived text (names, producer, path) goes through `safe_text`: a hostile model cannot
send escape sequences to the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from rich.tree import Tree

from cfexplore.graph.describe import plural
from cfexplore.graph.items import CF_STYLE, GraphItem
from cfexplore.graph.summary import format_counts, model_name, opset_text, producer_text
from cfexplore.graph.tree import OnnxTree
from cfexplore.render.labels import item_label


def _root_label(tree: OnnxTree) -> Text:
    counts = tree.total_counts
    text = Text(model_name(tree), style="bold")
    if tree.producer:
        text.append(f"  {producer_text(tree)}", style="dim")
    text.append(f"  {opset_text(tree)}", style="dim")
    text.append("  ")
    text.append(format_counts(counts), style=CF_STYLE if any(counts.values()) else "dim")
    return text


def _add_graph(
    branch: Tree, graph: GraphItem, level: int, depth: int | None, limit: int | None
) -> None:
    """Add `graph`'s nodes (and, within `depth`, their subgraphs) beneath `branch`."""
    for node in graph.children(0, limit):
        node_branch = branch.add(item_label(node))
        if not node.has_children:
            continue
        if depth is not None and level >= depth:
            hint = f"… {plural(node.child_count, 'nested graph')} (use --depth)"
            node_branch.add(Text(hint, style="dim"))
            continue
        for sub in node.children():
            _add_graph(node_branch.add(item_label(sub)), sub, level + 1, depth, limit)
    if limit is not None and graph.node_count > limit:
        more = graph.node_count - max(limit, 0)
        branch.add(Text(f"… {plural(more, 'more node')}", style="dim"))


def render_tree(tree: OnnxTree, depth: int | None = None, limit: int | None = None) -> Tree:
    """A rich Tree of the model; `depth` caps subgraph nesting, `limit` nodes per graph.

    For printing a whole (large) model, `tree_lines` streams the same content far faster.
    """
    root = Tree(_root_label(tree), guide_style="dim")
    _add_graph(root, tree.root, 0, depth, limit)
    return root


_BRANCH, _LAST, _PIPE, _SPACE = "├── ", "└── ", "│   ", "    "


def tree_lines(
    tree: OnnxTree, depth: int | None = None, limit: int | None = None, *, plain: bool = False
) -> Iterator[Text | str]:
    """The model as `render_tree` shows it, one line at a time (guides included); with
    `plain`, lines are str (no rich objects at all: the fast path for pipes and files).

    Nothing is laid out up front: a 100k-node model starts printing at once and never
    holds a renderable of every row.
    """
    root = _root_label(tree)
    yield root.plain if plain else root
    yield from _graph_lines(tree.root, "", 0, depth, limit, plain)


def _line(prefix: str, last: bool, label: Text | str, plain: bool) -> Text | str:
    guide = prefix + (_LAST if last else _BRANCH)
    if plain:
        return guide + (label if isinstance(label, str) else label.plain)
    line = Text(guide, style="dim", end="")
    line.append_text(label if isinstance(label, Text) else Text(label))
    return line


def _graph_lines(
    graph: GraphItem,
    prefix: str,
    level: int,
    depth: int | None,
    limit: int | None,
    plain: bool,
) -> Iterator[Text | str]:
    count = graph.node_count if limit is None else min(graph.node_count, max(limit, 0))
    more = graph.node_count - count
    for i, node in enumerate(graph.children(0, count)):
        last = i == count - 1 and not more
        yield _line(prefix, last, node.plain_label() if plain else item_label(node), plain)
        if not node.has_children:
            continue
        inner = prefix + (_SPACE if last else _PIPE)
        if depth is not None and level >= depth:
            hint = f"… {plural(node.child_count, 'nested graph')} (use --depth)"
            yield _line(inner, True, Text(hint, style="dim"), plain)
            continue
        subs = list(node.children())
        for j, sub in enumerate(subs):
            sub_last = j == len(subs) - 1
            yield _line(inner, sub_last, item_label(sub), plain)
            yield from _graph_lines(
                sub, inner + (_SPACE if sub_last else _PIPE), level + 1, depth, limit, plain
            )
    if more:
        yield _line(prefix, True, Text(f"… {plural(more, 'more node')}", style="dim"), plain)
