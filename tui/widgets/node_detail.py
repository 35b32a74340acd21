"""`NodeDetailView`: what one ONNX node (or graph) is, reads and writes, as plain rich Text.

Everything model-derived goes in through `Text.append`, never markup, so names such as
`[/model/If]` show literally.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from cfexplore.graph import (
    CF_MARKER,
    CF_STYLE,
    CONTROL_FLOW_OPS,
    STANDARD_DOMAINS,
    GraphItem,
    NodeDetail,
    NodeItem,
    ValueInfo,
    path_to_str,
)
from cfexplore.graph_render import format_counts

Shown = GraphItem | NodeItem | NodeDetail | None
"""What the pane can show: a model item, a ready NodeDetail, or nothing (the message)."""

_HEADING = "bold underline"
_MAX_VALUES = 64
"""Inputs/outputs listed per section before `… N more` (a Concat can have thousands)."""


def _heading(text: Text, title: str) -> None:
    text.append("\n")
    text.append(title, style=_HEADING)
    text.append("\n")


def _field(text: Text, key: str, value: str, style: str = "") -> None:
    text.append(f"{key}: ", style="dim")
    text.append(value, style=style)
    text.append("\n")


def _values(text: Text, title: str, values: list[ValueInfo]) -> None:
    _heading(text, f"{title} ({len(values)})")
    if not values:
        text.append("  none\n", style="dim")
        return
    for v in values[:_MAX_VALUES]:
        text.append("  ")
        text.append(v.name or "∅ (omitted)", style="bold" if v.name else "dim")
        text.append(": ", style="dim")
        type_str = v.type_str()
        text.append(type_str, style="dim" if type_str == "?" else "green")
        text.append("\n")
    if len(values) > _MAX_VALUES:
        text.append(f"  … {len(values) - _MAX_VALUES:,} more\n", style="dim")


def _names(text: Text, title: str, names: Iterable[str]) -> None:
    names = list(names)
    if not names:
        return
    _heading(text, f"{title} ({len(names)})")
    for name in names[:_MAX_VALUES]:
        text.append("  ")
        text.append(name)
        text.append("\n")
    if len(names) > _MAX_VALUES:
        text.append(f"  … {len(names) - _MAX_VALUES:,} more\n", style="dim")


def _block(text: Text, value: str) -> None:
    """A multi-line value (stack trace, doc string), indented."""
    for line in value.rstrip().splitlines() or [""]:
        text.append("    ")
        text.append(line)
        text.append("\n")


def render_node_detail(detail: NodeDetail) -> Text:
    """Op, domain, name, path, typed inputs/outputs, attributes, outer reads, metadata, doc."""
    text = Text()
    control_flow = detail.op_type in CONTROL_FLOW_OPS and detail.domain in STANDARD_DOMAINS
    if control_flow:
        text.append(CF_MARKER, style=CF_STYLE)
    text.append(detail.op_type, style=CF_STYLE if control_flow else "bold")
    text.append("  ")
    text.append(detail.name, style="italic")
    text.append("\n")
    _field(text, "domain", detail.domain or "ai.onnx (default)")
    _field(text, "path", detail.path)
    if detail.function:
        _field(text, "function", detail.function, "cyan")
    _values(text, "Inputs", detail.inputs)
    _values(text, "Outputs", detail.outputs)
    if detail.attributes:
        _heading(text, f"Attributes ({len(detail.attributes)})")
        for name, value in detail.attributes:
            text.append("  ")
            text.append(name, style="bold")
            text.append(" = ", style="dim")
            text.append(value)
            text.append("\n")
    _names(text, "Outer-scope reads", detail.outer_scope_reads)
    if detail.metadata:
        _heading(text, f"Metadata ({len(detail.metadata)})")
        for key, value in detail.metadata.items():
            text.append("  ")
            text.append(key, style="bold")
            if "\n" in value.strip():
                text.append("\n")
                _block(text, value)
            else:
                text.append(": ", style="dim")
                text.append(value)
                text.append("\n")
    if detail.doc_string:
        _heading(text, "Doc string")
        _block(text, detail.doc_string)
    text.rstrip()
    return text


def render_graph_item(item: GraphItem) -> Text:
    """Kind, name, node count, inputs/outputs, outer-scope reads, control-flow counts."""
    text = Text()
    if item.kind == "function":
        text.append("function ", style="cyan")
        text.append(item.function_name or "", style="bold cyan")
    elif item.kind == "subgraph":
        text.append(item.attr_name or "subgraph", style="bold yellow")
        if item.parent is not None:
            text.append(" of ", style="dim")
            text.append(item.parent.op_type, style=CF_STYLE if item.parent.is_control_flow else "")
            text.append(" ")
            text.append(item.parent.display_name, style="italic")
    else:
        text.append("main graph", style="bold")
    text.append("\n")
    if item.name:
        _field(text, "name", item.name)
    _field(text, "path", path_to_str(item.path))
    _field(text, "nodes", f"{item.node_count:,}")
    counts = item.counts
    if any(counts.values()):
        _field(text, "control flow here", format_counts(counts), CF_STYLE)
    if item.kind != "graph":  # the main graph's totals are in the screen's header line
        total = item.total_counts
        if any(total.values()):
            _field(text, "control flow inside", format_counts(total), CF_STYLE)
    _values(text, "Inputs", item.inputs)
    _values(text, "Outputs", item.outputs)
    _names(text, "Outer-scope reads", item.outer_scope_reads)
    text.rstrip()
    return text


def render_shown(shown: Shown) -> Text | None:
    """The pane's text for `shown` (None when there is nothing to show)."""
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
        self._text = Text()

    def compose(self) -> ComposeResult:
        yield Static(classes="node-detail--body")

    def on_mount(self) -> None:
        self._refresh_body()

    @property
    def plain_text(self) -> str:
        """The text on show, without styles (for tests and copying)."""
        return self._text.plain

    def show_message(self, message: str, *, error: bool = False) -> None:
        """Clear the item and show `message` instead."""
        self.is_error = error
        self.message = message
        self.item = None
        self._refresh_body()

    def watch_item(self) -> None:
        self._refresh_body()

    def watch_message(self) -> None:
        self._refresh_body()

    def _refresh_body(self) -> None:
        if not self.is_mounted:
            return
        text = render_shown(self.item)
        if text is None:
            text = Text(self.message)
        self._text = text
        body = self.query_one(".node-detail--body", Static)
        body.update(text)
        body.set_class(self.item is None and not self.is_error, "node-detail--message")
        body.set_class(self.item is None and self.is_error, "node-detail--error")
        self.scroll_home(animate=False)
