"""The rows of `cfexplore tree`: one iterative walk over an `OnnxTree`, and folding a row to
a width with its tree guides repeated on every continuation line.

A row is `(prefix, branch, label, kids)`: the ancestors' guides, the row's own connector
(`├── `, `└── `, or `""` for the root), the label (plain `str`, or rich `Text` when
styled) and whether rows nested under it follow. Plain leaf rows are formatted straight
from the node's proto (`leaf_label`); every other row goes through the tree's items.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from onnx import NodeProto
from rich.cells import cell_len, get_character_cell_size
from rich.text import Text

from cfexplore.graph.describe import has_graph_attribute, plural
from cfexplore.graph.items import CF_MARKER, CF_STYLE, GraphItem
from cfexplore.graph.summary import format_counts, model_name, opset_text, producer_text
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import CONTROL_FLOW_OPS, STANDARD_DOMAINS
from cfexplore.render.labels import item_label
from cfexplore.termtext import safe_tail, safe_text

BRANCH, LAST, PIPE, SPACE = "├── ", "└── ", "│   ", "    "
MIN_ROOM = 10
"""Label characters a folded line holds at least, even when the guides leave less room
(rows nested deeper than the width allows are wider than it, never lost)."""

Row = tuple[str, str, "Text | str", bool]
"""(prefix, branch, label, kids): see the module docstring."""

# The limits of `NodeItem.label_parts` and `describe.node_summary` (a test checks that
# `leaf_label` equals `NodeItem.plain_label` on hostile and long names).
_MAX_OP, _MAX_NAME, _MAX_SHOWN, _MAX_VALUE = 40, 80, 3, 28


def root_label(tree: OnnxTree) -> Text:
    """The first row: model name, producer, opsets and control-flow counts."""
    counts = tree.total_counts
    text = Text(model_name(tree), style="bold")
    if tree.producer:
        text.append(f"  {producer_text(tree)}", style="dim")
    text.append(f"  {opset_text(tree)}", style="dim")
    text.append("  ")
    text.append(format_counts(counts), style=CF_STYLE if any(counts.values()) else "dim")
    return text


def _names(names: Sequence[str]) -> str:
    n = len(names)
    if n == 1:  # the common case, without a call or a list
        s = names[0]
        if len(s) <= _MAX_VALUE and s.isascii() and s.isprintable():
            return s
    while n and not names[n - 1]:
        n -= 1  # trailing omitted optional inputs carry no information
    shown = []
    for s in names[:_MAX_SHOWN] if n > _MAX_SHOWN else names[:n]:
        if not s:
            shown.append("∅")
        elif len(s) <= _MAX_VALUE and s.isascii() and s.isprintable():
            shown.append(s)
        else:
            shown.append(safe_tail(s, _MAX_VALUE))
    if n > _MAX_SHOWN:
        shown.append(f"… +{n - _MAX_SHOWN}")
    return ", ".join(shown)


def leaf_label(p: NodeProto, index: int) -> str:
    """The plain label of a node that has no subgraph and calls no local function (what
    `NodeItem.plain_label` gives, in a third of the time: 100k rows are printed)."""
    op, domain, name = p.op_type, p.domain, p.name
    if domain in STANDARD_DOMAINS:
        head = CF_MARKER if op in CONTROL_FLOW_OPS else ""
    else:
        head = f"{safe_text(domain, _MAX_OP)}::"
    if not name:
        name = f"{op}#{index}"
    if len(name) > _MAX_NAME or not (name.isascii() and name.isprintable()):
        name = safe_text(name, _MAX_NAME)
    if len(op) > _MAX_OP or not (op.isascii() and op.isprintable()):
        op = safe_text(op, _MAX_OP)
    ins = _names(p.input)
    if ins:
        return f"{head}{op}  {name}  {ins} -> {_names(p.output)}"
    return f"{head}{op}  {name}  -> {_names(p.output)}"


class _Frame:
    """One graph being walked: its nodes, where the walk is, and the subgraph rows pending
    under the node just shown."""

    __slots__ = ("graph", "nodes", "prefix", "level", "i", "count", "more", "subs", "inner")

    def __init__(self, graph: GraphItem, prefix: str, level: int, limit: int | None) -> None:
        src = graph.graph if graph.graph is not None else graph.function
        assert src is not None
        self.graph, self.nodes, self.prefix, self.level = graph, src.node, prefix, level
        total = len(self.nodes)
        self.count = total if limit is None else min(total, max(limit, 0))
        self.more = total - self.count
        self.i = 0
        self.subs: list[tuple[GraphItem, bool]] = []
        """(subgraph, is last) still to show under the node before `i`, last one first."""
        self.inner = ""


def tree_rows(
    tree: OnnxTree, depth: int | None = None, limit: int | None = None, *, plain: bool = False
) -> Iterator[Row]:
    """Every row of the tree `render_tree` draws, in order, streamed (nothing laid out up
    front); `depth` caps subgraph nesting, `limit` the nodes shown per graph."""
    root = root_label(tree)
    yield "", "", root.plain if plain else root, tree.root.node_count > 0
    called = {(f.domain, f.name) for f in tree.model.functions}
    stack = [_Frame(tree.root, "", 0, limit)]
    while stack:
        f = stack[-1]
        if f.subs:
            sub, sub_last = f.subs.pop()
            styled = item_label(sub)
            kind = LAST if sub_last else BRANCH
            yield f.inner, kind, styled.plain if plain else styled, sub.node_count > 0
            stack.append(_Frame(sub, f.inner + (SPACE if sub_last else PIPE), f.level + 1, limit))
            continue
        nodes, prefix, count, i = f.nodes, f.prefix, f.count, f.i
        final = count - 1 if not f.more else -1
        while i < count:
            p = nodes[i]
            branch = LAST if i == final else BRANCH
            if not (p.attribute and has_graph_attribute(p)) and (
                not called or (p.domain, p.op_type) not in called
            ):
                label = leaf_label(p, i) if plain else item_label(f.graph.child(i))
                yield prefix, branch, label, False
                i += 1
                continue
            node = f.graph.child(i)
            i += 1
            kids = node.has_children
            yield prefix, branch, node.plain_label() if plain else item_label(node), kids
            if not kids:
                continue
            f.inner = prefix + (SPACE if branch == LAST else PIPE)
            if depth is not None and f.level >= depth:
                hint = f"… {plural(node.child_count, 'nested graph')} (use --depth)"
                yield f.inner, LAST, hint if plain else Text(hint, style="dim"), False
                continue
            subs = list(node.children())
            f.subs = [(s, j == len(subs) - 1) for j, s in enumerate(subs)][::-1]
            break
        f.i = i
        if i >= count and not f.subs:
            stack.pop()
            if f.more:
                more = f"… {plural(f.more, 'more node')}"
                yield prefix, LAST, more if plain else Text(more, style="dim"), False


def continuation(prefix: str, branch: str, kids: bool) -> str:
    """The guides of a folded row's continuation lines: the ancestors' bars, a bar under
    the row's own branch when siblings follow, a bar under its label when children do."""
    own = PIPE if branch == BRANCH else SPACE if branch else ""
    return prefix + own + (PIPE if kids else SPACE)


def _fit(text: str, start: int, room: int) -> int:
    """The end of the longest piece of `text` from `start` that fits `room` cells (at
    least one character, so folding always moves on)."""
    if text.isascii():
        return min(start + max(room, 1), len(text))
    used, end = 0, start
    while end < len(text):
        used += get_character_cell_size(text[end])
        if used > room and end > start:
            break
        end += 1
    return end


def fold_points(text: str, first: int, rest: int) -> list[int]:
    """Offsets cutting `text` into pieces of at most `first` cells, then `rest` cells each:
    after the last space that fits (so `a, b` folds after `, `), else a hard cut inside a
    token longer than the room. Rooms under `MIN_ROOM` count as `MIN_ROOM`."""
    cuts: list[int] = []
    start, room = 0, max(first, MIN_ROOM)
    while True:
        end = _fit(text, start, room)
        if end >= len(text):
            return cuts
        space = text.rfind(" ", start + 1, end)
        cut = space + 1 if space >= 0 else end
        cuts.append(cut)
        start, room = cut, max(rest, MIN_ROOM)


def fold_row(row: Row, width: int) -> list[Text | str]:
    """`row` as lines of at most `width` cells (wider only when its guides leave less than
    `MIN_ROOM`); every character of the label is kept, once, in order."""
    prefix, branch, label, kids = row
    guide = prefix + branch
    cont = continuation(prefix, branch, kids)
    plain = label if isinstance(label, str) else label.plain
    cuts = fold_points(plain, width - len(guide), width - len(cont))
    if isinstance(label, str):
        bounds = [0, *cuts, len(label)]
        heads = [guide] + [cont] * len(cuts)
        return [h + label[a:b] for h, a, b in zip(heads, bounds, bounds[1:], strict=False)]
    parts = label.divide(cuts) if cuts else [label]
    return [Text.assemble((cont if k else guide, "dim"), t) for k, t in enumerate(parts)]


def row_lines(rows: Iterable[Row], width: int | None = None) -> Iterator[Text | str]:
    """The printed lines of `rows`: one per row, or each folded to `width` cells (guides
    are one cell a character)."""
    for row in rows:
        prefix, branch, label, _kids = row
        if width is not None:
            plain = label if isinstance(label, str) else label.plain
            if len(prefix) + len(branch) + cell_len(plain) > width:
                yield from fold_row(row, width)
                continue
        if isinstance(label, str):
            yield prefix + branch + label
        else:
            yield Text.assemble((prefix + branch, "dim"), label)
