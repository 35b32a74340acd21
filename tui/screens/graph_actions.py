"""The Graph screen's keys and what they do: filter, jump, expand and collapse, copy a name,
open the source line, compare, and the validation report (locate's worker is in `graph`).

`GraphActions` sits between the layout (`graph_layout`) and the screen with its workers
(`graph.GraphScreen`).
"""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.widgets import Input

from cfexplore.graph.describe import path_to_str
from cfexplore.graph.items import GraphItem, NodeItem

from ..widgets.onnx_tree import OnnxTreeView
from .graph_layout import GraphLayout


class GraphActions(GraphLayout):
    """The Graph screen's bindings, `check_action`, the filter bar and `show_path`."""

    BINDINGS = [
        Binding(
            "y",
            "copy_name",
            "Copy name",
            id="graph.copy",
            show=False,
            tooltip="Copy the name of the node under the cursor to the clipboard (OSC 52)",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            id="graph.filter",
            show=False,
            tooltip="Filter nodes by op type or name",
        ),
        Binding(
            "n",
            "next_control_flow",
            "Next If/Loop",
            id="graph.next-cf",
            tooltip="Jump to the next If/Loop/Scan node (with a filter: the next match)",
        ),
        Binding(
            "N",
            "previous_control_flow",
            "Prev If/Loop",
            id="graph.prev-cf",
            show=False,
            tooltip="Jump to the previous If/Loop/Scan node (with a filter: the previous match)",
        ),
        Binding(
            "e",
            "expand_control_flow",
            "Expand all",
            id="graph.expand-cf",
            tooltip="Expand every If/Loop/Scan node, its bodies and the path to it",
        ),
        Binding(
            "c",
            "collapse_all",
            "Collapse all",
            id="graph.collapse",
            show=False,
            tooltip="Collapse every row",
        ),
        Binding(
            "d",
            "toggle_detail",
            "Details",
            id="graph.detail",
            show=False,
            tooltip="Show or hide the node detail pane",
        ),
        Binding(
            "o",
            "open_source",
            "Source",
            id="graph.source",
            tooltip="Open the Python line this node came from (exporter records)",
        ),
        Binding(
            "x",
            "compare",
            "Compare",
            id="graph.compare",
            tooltip="Compare this model with another export by control-flow skeleton",
        ),
        Binding(
            "l",
            "locate",
            "Locate",
            id="graph.locate",
            tooltip="Run the model at the Diff screen's values and jump to the first ONNX "
            "node whose value differs from PyTorch",
        ),
        Binding(
            "v",
            "validation",
            "Validation",
            id="graph.validation",
            show=False,
            tooltip="onnx.checker, size estimate and ORT session of an opened file, in full",
        ),
        Binding(
            "escape",
            "clear_filter",
            "Clear filter",
            id="graph.clear-filter",
            tooltip="Close the filter and show the whole model",
        ),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out tree actions while no model is shown; Escape only while filtering."""
        if action == "clear_filter":
            tree_view = self.query_one(OnnxTreeView)
            bar_open = self.query_one("#graph-filter-bar").has_class("-open")
            return bool(tree_view.filter_text) or bar_open
        if action == "validation":  # only for a file opened from elsewhere, once checked
            return self.validation is not None
        if action in (
            "filter",
            "next_control_flow",
            "previous_control_flow",
            "expand_control_flow",
            "collapse_all",
        ):
            return True if self.model is not None else None
        return True

    # -- jump from other screens ----------------------------------------------------

    def show_path(self, path: tuple[int | str, ...]) -> bool:
        """Select and reveal the item at `path` (an `OnnxTree` item path), expanding ancestors.

        While a model is still being opened, the jump happens once it is shown.
        """
        path = tuple(path)
        tree_view = self.query_one(OnnxTreeView)
        if self.model is None or tree_view.loading:
            self._pending_path = path
            return False
        if tree_view.filter_text and not tree_view.reveal(path):
            self._close_filter_input()
            tree_view.apply_filter("")
        if not tree_view.reveal(path):
            self.notify(f"No node at {path_to_str(path)}.", severity="warning", timeout=4)
            return False
        tree_view.focus()
        return True

    # -- filter ---------------------------------------------------------------------

    def action_filter(self) -> None:
        """Open (and focus) the filter input."""
        self.query_one("#graph-filter-bar").add_class("-open")
        filter_input = self.query_one("#graph-filter", Input)
        filter_input.value = self.query_one(OnnxTreeView).filter_text
        filter_input.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        """Close the filter input and show the whole model again."""
        self._close_filter_input()
        tree_view = self.query_one(OnnxTreeView)
        tree_view.apply_filter("")
        tree_view.focus()

    @on(Input.Submitted, "#graph-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        tree_view = self.query_one(OnnxTreeView)
        text = event.value.strip()
        if not text:
            self._close_filter_input()
        tree_view.apply_filter(text)
        tree_view.focus()

    @on(OnnxTreeView.FilterApplied)
    def _filter_applied(self, event: OnnxTreeView.FilterApplied) -> None:
        if event.text and not event.total:
            self.notify(f"No node matches “{event.text}”.", severity="warning", timeout=3)
        self.refresh_bindings()

    # -- the tree -------------------------------------------------------------------

    def action_next_control_flow(self) -> None:
        self.query_one(OnnxTreeView).goto_control_flow(forward=True)

    def action_previous_control_flow(self) -> None:
        self.query_one(OnnxTreeView).goto_control_flow(forward=False)

    def action_expand_control_flow(self) -> None:
        self.query_one(OnnxTreeView).expand_control_flow()

    def action_collapse_all(self) -> None:
        self.query_one(OnnxTreeView).collapse_everything()

    def action_toggle_detail(self) -> None:
        """Hide or show the detail pane (more room for the tree on narrow terminals)."""
        self.toggle_class("-no-detail")

    # -- the node under the cursor, elsewhere ---------------------------------------

    def action_copy_name(self) -> None:
        """y: the name of the node (or graph) under the cursor, to the clipboard."""
        item = self.query_one(OnnxTreeView).highlighted_item
        if isinstance(item, NodeItem):
            self.cfx.copy_text(item.name or item.display_name, "the node name")
        elif isinstance(item, GraphItem) and item.name:
            self.cfx.copy_text(item.name, "the graph name")
        else:
            self.notify("no node under the cursor", timeout=2)

    def action_open_source(self) -> None:
        """Open the Python source line recorded for the highlighted node."""
        from cfexplore.graph.sourcemap import node_source

        from .source import SourceScreen

        item = self.query_one(OnnxTreeView).highlighted_item
        if not isinstance(item, NodeItem):
            self.notify("highlight a node first", timeout=2)
            return
        detail = item.detail()
        loc = node_source(detail.doc_string, detail.metadata)
        if loc is None:
            self.notify("the exporter recorded no source line for this node", timeout=3)
            return
        self.app.push_screen(SourceScreen(loc.file, loc.line, f"{detail.op_type} {detail.name}"))

    def action_compare(self) -> None:
        """Open the Compare screen: this model vs another export of the same target."""
        from .compare import CompareScreen, default_pair

        ref = self.onnx_ref
        a, b = default_pair(ref.path if ref else None, self.cfx.exports)
        self.app.push_screen(CompareScreen(a, b))

    def action_validation(self) -> None:
        """v: the full validation report of the opened file."""
        from .text import TextScreen

        res = self.validation
        if res is None:
            running = self._validate_cancel is not None
            self.notify("validation still running" if running else "nothing validated", timeout=2)
            return
        lines = [f"file: {res.path}", f"time: {res.seconds:.2f}s", ""]
        how = "full check" if res.full_check else f"structure only: {res.check_note or 'too big'}"
        lines += [f"onnx.checker ({how}): " + (res.checker_error or "ok")]
        sized = f"ok · largest tensor {res.largest or '-'}" if res.full_check else "not estimated"
        lines += ["size: " + (res.size_error or sized)]
        session = res.session_error or ("skipped: cannot fit" if res.size_error else "ok")
        lines += ["ONNX Runtime session: " + session]
        if res.inputs or res.outputs:
            lines += ["", "inputs:", *[f"  {i}" for i in res.inputs]]
            lines += ["outputs:", *[f"  {o}" for o in res.outputs]]
        for title, text in (("checker", res.checker_details), ("session", res.session_details)):
            if text:
                lines += ["", f"── {title} details ──", text]
        self.app.push_screen(TextScreen(f"Validation · {res.path}", "\n".join(lines)))
