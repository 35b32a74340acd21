"""The Graph screen's widgets and state: summary line, filter bar, node tree, detail pane,
and the empty state that replaces them when there is no model (or it cannot be opened).

`GraphLayout` is the base of `graph.GraphScreen`: the keys (`graph_actions`) and the
workers (`graph`) act on what it shows.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Static

from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import ItemPath

from ..messages import OnnxRef
from ..widgets.badges import audit_badges, merge_badges, trace_badges
from ..widgets.footer import CfxFooter
from ..widgets.mode_bar import ModeBar
from ..widgets.node_detail import NodeDetailView, Shown
from ..widgets.onnx_tree import OnnxTreeView
from ..widgets.text_input import TextInput
from .base import CfxScreen

DETAIL_DELAY = 0.08
"""Seconds the cursor must rest on a row before the detail pane renders it."""
NARROW_WIDTH = 100
"""Below this many columns the detail pane goes under the tree instead of beside it."""
EMPTY_TEXT = (
    "No model loaded.\n\n"
    "Export a variant (2) or open an .onnx file from Variants (1).\n"
    "The node tree of the model then shows here: If/Loop/Scan rows expand into their "
    "then/else branches and loop bodies."
)


def fit_parts(text: Text, width: int, sep: str = " · ") -> Text:
    """`text` whole if it fits in `width` cells, else its leading `sep`-separated parts
    that fit followed by `sep…` (a part is never cut; the first always shows, cut at the
    width if it alone is too wide)."""
    if text.cell_len <= width:
        return text
    parts = text.split(sep, allow_blank=True)
    out = parts[0].copy()
    for part in parts[1:]:
        if out.cell_len + 2 * len(sep) + part.cell_len + 1 > width:
            break
        out.append(sep)
        out.append_text(part)
    out.append(f"{sep}…", "dim")
    return out


class GraphLayout(CfxScreen):
    """The Graph screen's widgets, the model on show, and what the panes display."""

    selected: reactive[Shown] = reactive(None)
    """The item the detail pane shows (set after the cursor rests, see DETAIL_DELAY)."""

    def __init__(self) -> None:
        super().__init__()
        self.onnx_ref: OnnxRef | None = None
        """The model asked for last (on show, or being opened)."""
        self.model: OnnxTree | None = None
        """The model on show."""
        self.audit: Any = None
        """cfexplore.analysis.audit.AuditReport of the model on show (flags badge the tree)."""
        self._pending_path: ItemPath | None = None
        self._pending_item: Shown = None
        self._detail_timer: Timer | None = None
        self.validation: Any = None
        """cfexplore.results.ValidationResult of the opened file (None: not run or running)."""
        self._validate_cancel: threading.Event | None = None
        """Set to stop the validation running (None: none is)."""
        self._cfx_summary_full: Text | None = None
        """The whole summary line (what is shown is cut to the width)."""
        self._summary_text = Text()

    def compose(self) -> ComposeResult:
        yield ModeBar("graph")
        yield Static(id="graph-summary", classes="status-line")
        with Horizontal(id="graph-body"):
            with Vertical(id="graph-left"):
                with Horizontal(id="graph-filter-bar"):
                    yield Static("/", id="graph-filter-prompt")
                    yield TextInput(
                        placeholder="op type or name — Enter applies, Esc clears",
                        id="graph-filter",
                        compact=True,
                    )
                yield OnnxTreeView(id="graph-tree")
                yield Static(EMPTY_TEXT, id="graph-empty")
            yield NodeDetailView(id="graph-detail").data_bind(item=GraphLayout.selected)
        yield CfxFooter()

    def on_resize(self, event: events.Resize) -> None:
        self._set_narrow(event.size.width)

    def _set_narrow(self, width: int) -> None:
        self.set_class(width < NARROW_WIDTH, "-narrow")
        if self._cfx_summary_full is not None:
            self.call_after_refresh(self._summary, self._cfx_summary_full)

    def _refresh_badges(self) -> None:
        """Badge tree rows with the last sweep's branch trace for this export."""
        ref = self.onnx_ref
        if self.model is None or ref is None:
            return
        trace = self.cfx.traces.get(ref.exporter) if ref.exporter else None
        self.query_one(OnnxTreeView).set_badges(
            merge_badges(trace_badges(trace or {}), audit_badges(self.audit))
        )

    def _show_empty(self, message: str, error: bool = False) -> None:
        empty = self.query_one("#graph-empty", Static)
        empty.update(Text(message))
        empty.set_class(error, "error-text")
        self._show_tree(False)
        self._detail_message("Nothing to show." if not error else message, error=error)

    def _detail_message(self, message: str, error: bool = False) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._pending_item = self.selected = None
        self.query_one(NodeDetailView).show_message(message, error=error)

    def _show_tree(self, show: bool) -> None:
        """The tree and detail pane, or (no model, or an error) the empty-state text alone."""
        self.query_one(OnnxTreeView).display = show
        self.query_one("#graph-empty").display = not show
        self.set_class(not show, "-empty")
        self.refresh_bindings()

    def _summary(self, text: Text) -> None:
        """Show the summary line, cut between its ` · ` parts (never inside a word or a
        number) to fit the width; the last parts give way first (refitted on resize)."""
        self._cfx_summary_full = text
        widget = self.query_one("#graph-summary", Static)
        width = (widget.size.width or self.app.size.width) - 1
        widget.update(fit_parts(text, width), layout=False)

    def _close_filter_input(self) -> None:
        filter_input = self.query_one("#graph-filter", Input)
        filter_input.value = ""
        self.query_one("#graph-filter-bar").remove_class("-open")
        self.refresh_bindings()

    # -- detail pane ----------------------------------------------------------------

    @on(OnnxTreeView.ItemHighlighted)
    def _item_highlighted(self, event: OnnxTreeView.ItemHighlighted) -> None:
        """Debounced: holding a cursor key renders only where the cursor stops."""
        self._pending_item = event.item
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_DELAY, self._show_pending)

    def _show_pending(self) -> None:
        self._detail_timer = None
        self.selected = self._pending_item
