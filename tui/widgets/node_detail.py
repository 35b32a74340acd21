"""`NodeDetailView`: what one ONNX node (or graph) is, reads and writes, as rich Text.

Everything model-derived goes in through `Text.append`, never markup, so names such as
`[/model/If]` show literally, and through `safe_text`, so escape sequences, BEL and bidi
overrides in a hostile model show as `\x1b`, `\x07`, `\u202e` instead of acting on the
terminal. The pane shows the full text (only tree labels are shortened).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from cfexplore.graph.describe import path_to_str
from cfexplore.graph.items import CF_MARKER, CF_STYLE, GraphItem, NodeDetail, NodeItem
from cfexplore.graph.sourcemap import node_source
from cfexplore.graph.summary import format_counts
from cfexplore.graph.values import CONTROL_FLOW_OPS, STANDARD_DOMAINS, ValueInfo
from cfexplore.termtext import safe_text

Shown = GraphItem | NodeItem | NodeDetail | None
"""What the pane can show: a model item, a ready NodeDetail, or nothing (the message)."""

_HEADING = "bold underline"
_MAX_VALUES = 64
"""Inputs/outputs listed per section before `… N more` (a Concat can have thousands)."""


class DetailText:
    """Lines, each with a hanging indent (wrapped stack traces stay readable), and plain text."""

    def __init__(self) -> None:
        self.lines: list[tuple[Text, int]] = []

    def add(self, text: Text | str, indent: int = 0, style: str = "") -> None:
        self.lines.append((Text(text, style=style) if isinstance(text, str) else text, indent))

    def heading(self, title: str) -> None:
        self.add(title, style=_HEADING)

    def field(self, key: str, value: str, style: str = "") -> None:
        """`key: value`; the value is escaped for the terminal."""
        self.add(Text.assemble((f"{key}: ", "dim"), (safe_text(value), style)))

    def block(self, value: str, indent: int) -> None:
        """A multi-line value (stack trace, doc string), every line indented and escaped."""
        for line in safe_text(value.rstrip(), multiline=True).split("\n") or [""]:
            self.add(Text(line), indent)

    @property
    def plain(self) -> str:
        return "\n".join(" " * indent + text.plain for text, indent in self.lines)

    def renderable(self) -> Group:
        return Group(*(Padding(t, (0, 0, 0, i)) if i else t for t, i in self.lines))


def _values(doc: DetailText, title: str, values: list[ValueInfo]) -> None:
    doc.heading(f"{title} ({len(values)})")
    if not values:
        doc.add("none", 2, "dim")
        return
    for v in values[:_MAX_VALUES]:
        type_str = v.type_str()
        doc.add(
            Text.assemble(
                (safe_text(v.name) or "∅ (omitted)", "bold" if v.name else "dim"),
                (": ", "dim"),
                (safe_text(type_str), "dim" if type_str == "?" else "green"),
            ),
            2,
        )
    if len(values) > _MAX_VALUES:
        doc.add(f"… {len(values) - _MAX_VALUES:,} more", 2, "dim")


def _names(doc: DetailText, title: str, names: Iterable[str]) -> None:
    names = list(names)
    if not names:
        return
    doc.heading(f"{title} ({len(names)})")
    for name in names[:_MAX_VALUES]:
        doc.add(Text(safe_text(name)), 2)
    if len(names) > _MAX_VALUES:
        doc.add(f"… {len(names) - _MAX_VALUES:,} more", 2, "dim")


def render_node_detail(detail: NodeDetail) -> DetailText:
    """Op, name, domain, typed inputs/outputs, attributes, outer reads, metadata, doc, path."""
    doc = DetailText()
    control_flow = detail.op_type in CONTROL_FLOW_OPS and detail.domain in STANDARD_DOMAINS
    title = Text()
    if control_flow:
        title.append(CF_MARKER, style=CF_STYLE)
    title.append(safe_text(detail.op_type), style=CF_STYLE if control_flow else "bold")
    title.append("  ")
    title.append(safe_text(detail.name), style="italic")
    doc.add(title)
    doc.field("domain", detail.domain or "ai.onnx")
    for note in detail.notes:
        doc.field("note", note, "yellow")
    source = node_source(detail.doc_string, detail.metadata)
    if source is not None:
        doc.field("source", f"{source}  (o opens it)", "dim" if source.library else "green")
    if detail.function:
        doc.field("function", detail.function, "cyan")
    _values(doc, "Inputs", detail.inputs)
    _values(doc, "Outputs", detail.outputs)
    if detail.attributes:
        doc.heading(f"Attributes ({len(detail.attributes)})")
        for name, value in detail.attributes:
            doc.add(Text.assemble((safe_text(name), "bold"), (" = ", "dim"), safe_text(value)), 2)
    _names(doc, "Outer-scope reads", detail.outer_scope_reads)
    if detail.metadata:
        doc.heading(f"Metadata ({len(detail.metadata)})")
        for key, value in detail.metadata.items():
            key = safe_text(key)
            if "\n" in value.strip() or len(key) + len(value) > 48:
                doc.add(Text(key, style="bold"), 2)
                doc.block(value, 4)
            else:
                doc.add(Text.assemble((key, "bold"), (": ", "dim"), safe_text(value)), 2)
    if detail.doc_string:
        doc.heading("Doc string")
        doc.block(detail.doc_string, 2)
    doc.field("path", detail.path)  # last: deep in nested bodies it is long
    return doc


def render_graph_item(item: GraphItem) -> DetailText:
    """Kind, name, node count, inputs/outputs, outer-scope reads, control-flow counts."""
    doc = DetailText()
    title = Text()
    if item.kind == "function":
        title.append("function ", style="cyan")
        title.append(safe_text(item.function_name or ""), style="bold cyan")
    elif item.kind == "subgraph":
        title.append(safe_text(item.attr_name or "subgraph"), style="bold yellow")
        if item.parent is not None:
            parent = item.parent
            title.append(" of ", style="dim")
            title.append(
                safe_text(parent.op_type), style=CF_STYLE if parent.is_control_flow else ""
            )
            title.append(" ")
            title.append(safe_text(parent.display_name), style="italic")
    else:
        title.append("main graph", style="bold")
    doc.add(title)
    if item.name:
        doc.field("name", item.name)
    doc.field("nodes", f"{item.node_count:,}")
    counts = item.counts
    if any(counts.values()):
        doc.field("control flow here", format_counts(counts), CF_STYLE)
    if item.kind != "graph":  # the main graph's totals are in the screen's header line
        total = item.total_counts
        if any(total.values()):
            doc.field("control flow inside", format_counts(total), CF_STYLE)
    _values(doc, "Inputs", item.inputs)
    _values(doc, "Outputs", item.outputs)
    _names(doc, "Outer-scope reads", item.outer_scope_reads)
    doc.field("path", path_to_str(item.path))
    return doc


def render_shown(shown: Shown) -> DetailText | None:
    """The pane's content for `shown` (None when there is nothing to show)."""
    if isinstance(shown, NodeItem):
        return render_node_detail(shown.detail())
    if isinstance(shown, NodeDetail):
        return render_node_detail(shown)
    if isinstance(shown, GraphItem):
        return render_graph_item(shown)
    return None


class NodeDetailView(VerticalScroll):
    """A scrollable pane with the details of one node or graph, or a message when empty.

    Bind `item` to a reactive of the owning screen (`data_bind`) and debounce upstream:
    rendering a node looks up the types of all its values.
    """

    DEFAULT_CSS = """
    NodeDetailView {
        padding: 0 1;
        & > .node-detail--body {
            width: 1fr;
        }
        & > .node-detail--message {
            color: $text-muted;
        }
        & > .node-detail--error {
            color: $error;
        }
    }
    """

    item: reactive[Shown] = reactive(None)
    """The node, graph or NodeDetail on show; None shows `message`."""
    message: reactive[str] = reactive("Select a node to see its details.")
    """Shown when `item` is None (empty state, loading, errors)."""
    is_error: reactive[bool] = reactive(False)
    """Style `message` as an error."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._plain = ""
        self._cfx_note: Text | None = None
        """Lines shown above the details (a locate answer), or None."""
        self._cfx_note_path: str | None = None
        """The item (tree path) the note is about; None: shown above whatever is on show."""

    def compose(self) -> ComposeResult:
        yield Static(classes="node-detail--body")

    def on_mount(self) -> None:
        self._refresh_body()

    @property
    def plain_text(self) -> str:
        """The text on show, without styles (for tests and copying)."""
        return self._plain

    def show_message(self, message: str, *, error: bool = False) -> None:
        """Clear the item and show `message` instead."""
        self.is_error = error
        self.message = message
        self.item = None
        self._refresh_body()

    def set_note(self, note: Text | None, path: str | None = None) -> None:
        """Show `note` above the details while the item at tree path `path` is on show
        (None: above whatever is on show); `note` None removes it."""
        self._cfx_note = note
        self._cfx_note_path = path
        self._refresh_body()

    def _note_applies(self) -> bool:
        if self._cfx_note is None:
            return False
        if self._cfx_note_path is None:
            return True
        item = self.item
        if isinstance(item, NodeItem | GraphItem):
            return path_to_str(item.path) == self._cfx_note_path
        return isinstance(item, NodeDetail) and item.path == self._cfx_note_path

    def watch_item(self) -> None:
        self._refresh_body()

    def watch_message(self) -> None:
        self._refresh_body()

    def reshow(self) -> None:
        """Render the item on show again (its types were just inferred)."""
        self._refresh_body()

    def _refresh_body(self) -> None:
        if not self.is_mounted:
            return
        doc = render_shown(self.item)
        body = self.query_one(".node-detail--body", Static)
        if doc is None:
            self._plain = self.message
            content: Text | Group = Text(self.message)
        else:
            self._plain = doc.plain
            content = doc.renderable()
        note = self._cfx_note
        if note is not None and self._note_applies():
            self._plain = f"{note.plain}\n\n{self._plain}"
            content = Group(note, Text(""), content)
        body.update(content)
        body.set_class(self.item is None and not self.is_error, "node-detail--message")
        body.set_class(self.item is None and self.is_error, "node-detail--error")
        self.scroll_home(animate=False)
