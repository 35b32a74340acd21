"""Static rich rendering of an `OnnxTree`, for `cfexplore tree FILE.onnx --depth N`.

Model-derived text (names, producer, path) goes through `safe_text`: a hostile model cannot
send escape sequences to the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from rich.tree import Tree

from cfexplore.graph.describe import plural
from cfexplore.graph.items import GraphItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.render.labels import item_label
from cfexplore.render.tree_rows import root_label, row_lines, tree_rows


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
    root = Tree(root_label(tree), guide_style="dim")
    _add_graph(root, tree.root, 0, depth, limit)
    return root


def tree_lines(
    tree: OnnxTree,
    depth: int | None = None,
    limit: int | None = None,
    *,
    plain: bool = False,
    width: int | None = None,
) -> Iterator[Text | str]:
    """The model as `render_tree` shows it, one line at a time (guides included); with
    `plain`, lines are str (no rich objects at all: the fast path for pipes and files);
    with `width`, rows wider than it are folded (`tree_rows.fold_row`).

    Nothing is laid out up front: a 100k-node model starts printing at once and never
    holds a renderable of every row.
    """
    return row_lines(tree_rows(tree, depth, limit, plain=plain), width)
