"""Graph screen: the ONNX node tree (If/Loop/Scan bodies expand in place) and node details."""

from __future__ import annotations

import os
import threading
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker

from cfexplore.analysis.audit import kinds_text
from cfexplore.errors import GraphError
from cfexplore.graph.describe import path_to_str
from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import CONTROL_FLOW_OPS, ItemPath

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


class GraphScreen(CfxScreen):
    """Browse an ONNX model: which ifs and loops became If/Loop/Scan, and what they contain."""

    AUTO_FOCUS = "#graph-tree"
    HELP = (
        "The ONNX node tree of the model on show: did your ifs and loops become If, Loop "
        "or Scan nodes (◆, highlighted), or were they frozen into a straight line? "
        "Control-flow rows expand in place into their then/else branches and loop bodies, "
        "to any depth; the side pane shows the selected node's typed inputs and outputs, "
        "attributes, outer-scope reads and source metadata. Wide graphs load as you scroll."
    )
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

    selected: reactive[Shown] = reactive(None)
    """The item the detail pane shows (set after the cursor rests, see DETAIL_DELAY)."""

    class ModelOpened(Message):
        """The open worker parsed the file (and ran shape inference)."""

        def __init__(
            self, ref: OnnxRef, tree: OnnxTree, summary: str, token: int, audit: Any = None
        ) -> None:
            super().__init__()
            self.ref = ref
            self.tree = tree
            self.summary = summary
            self.token = token
            self.audit = audit

    class Audited(Message):
        """The summary counts and the structural audit of the model on show are ready."""

        def __init__(self, ref: OnnxRef, summary: str, token: int, audit: Any) -> None:
            super().__init__()
            self.ref = ref
            self.summary = summary
            self.token = token
            self.audit = audit

    class TypesInferred(Message):
        """The file worker inferred the types of the tree on show (`OnnxTree.merge_types`)."""

        def __init__(self, tree: OnnxTree, types: Any, token: int) -> None:
            super().__init__()
            self.tree = tree
            self.types = types
            self.token = token

    class ModelFailed(Message):
        """The file could not be opened as an ONNX model."""

        def __init__(self, ref: OnnxRef, error: str, token: int, details: str = "") -> None:
            super().__init__()
            self.ref = ref
            self.error = error
            self.token = token
            self.details = details

    class Validated(Message):
        """The checker / size / ORT-session validation of an opened file finished."""

        def __init__(self, ref: OnnxRef, result: Any, token: int) -> None:
            super().__init__()
            self.ref = ref
            self.result = result
            self.token = token

    def __init__(self) -> None:
        super().__init__()
        self.onnx_ref: OnnxRef | None = None
        """The model asked for last (on show, or being opened)."""
        self.model: OnnxTree | None = None
        """The model on show."""
        self.audit: Any = None
        """cfexplore.analysis.audit.AuditReport of the model on show (flags badge the tree)."""
        self._token = 0
        self._pending_path: ItemPath | None = None
        self._pending_item: Shown = None
        self._detail_timer: Timer | None = None
        self.validation: Any = None
        """cfexplore.results.ValidationResult of the opened file (None: not run or running)."""
        self._validate_cancel: threading.Event | None = None
        self._validate_client: Any = None
        self._cfx_client_lock = threading.Lock()
        self._cfx_summary_full: Text | None = None
        """The whole summary line (what is shown is cut to the width)."""
        self._cfx_analyse_cancel: threading.Event | None = None
        """Set to drop the audit of a model no longer shown."""
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
            yield NodeDetailView(id="graph-detail").data_bind(item=GraphScreen.selected)
        yield CfxFooter()

    def on_mount(self) -> None:
        self.cfx.onnx_changed.subscribe(self, self.load)
        self.cfx.traces_changed.subscribe(self, lambda _exporter: self._refresh_badges())
        self._set_narrow(self.app.size.width)
        if self.state.onnx is not None:
            self.load(self.state.onnx)
        else:
            self._show_empty(EMPTY_TEXT)

    def on_screen_resume(self) -> None:
        """Catch up with a model chosen while another screen was active."""
        onnx = self.state.onnx
        if onnx is not None and onnx != self.onnx_ref:
            self.load(onnx)

    def on_resize(self, event: events.Resize) -> None:
        self._set_narrow(event.size.width)

    def _set_narrow(self, width: int) -> None:
        self.set_class(width < NARROW_WIDTH, "-narrow")
        if self._cfx_summary_full is not None:
            self.call_after_refresh(self._summary, self._cfx_summary_full)

    # -- loading --------------------------------------------------------------------

    def load(self, ref: OnnxRef) -> None:
        """Open `ref` in a thread worker; the tree shows it when the worker reports back."""
        self.onnx_ref = ref
        self._token += 1
        if self._cfx_analyse_cancel is not None:  # the previous model's audit is not wanted
            self._cfx_analyse_cancel.set()
        self._stop_validation()
        self.validation = None
        tree_view = self.query_one(OnnxTreeView)
        self._show_tree(True)
        tree_view.loading = True
        self._summary(Text.assemble(("opening ", "dim"), ref.label, ("…", "dim")))
        self._detail_message(f"Opening {ref.path}…")
        self._open(ref, self._token)

    @work(thread=True, exclusive=True, exit_on_error=False, group="graph-open")
    def _open(self, ref: OnnxRef, token: int) -> None:
        """Parse in a thread and report at once (the tree shows); then walk the whole model
        for the summary counts and the audit, and report those. Never touches widgets."""
        from cfexplore.engine.filejobs import infer_file
        from cfexplore.errors import Cancelled
        from cfexplore.graph.typeinfer import IN_PROCESS_MAX_NODES

        try:
            tree = OnnxTree.open(ref.path, lint=False, infer_here_max=IN_PROCESS_MAX_NODES)
        except GraphError as exc:
            self.post_message(self.ModelFailed(ref, str(exc), token, exc.details))
            return
        self.post_message(self.ModelOpened(ref, tree, "", token, None))
        cancel = threading.Event()
        self._cfx_analyse_cancel = cancel
        if tree.types_deferred:  # onnx's inference holds the GIL: never in this process
            try:
                types = infer_file(ref.path, self._file_worker(), cancel, self.state.timeout)
            except Cancelled:
                return
            if types.error or types.note:
                tree.warnings.append(types.error or types.note or "")
            else:  # merged on the UI thread: the tree's scopes are read there
                self.post_message(self.TypesInferred(tree, types, token))
        # lint, counts and audit walk every node: for a big file in the file worker, so the
        # UI keeps its frames (the GIL, garbage collections over the model's heap, onnx's
        # checker); a small one here, where it costs less than the round trip
        from cfexplore.analysis.modelcheck import IN_PROCESS_MAX_BYTES, analyse_tree
        from cfexplore.engine.filejobs import analyse_file
        from cfexplore.errors import CfxError

        if cancel.is_set():
            return
        try:
            small = os.path.getsize(ref.path) <= IN_PROCESS_MAX_BYTES
        except OSError:  # gone since: the worker says so in one line
            small = False
        try:
            if small:
                found = analyse_tree(tree)
            else:
                found = analyse_file(ref.path, self._file_worker(), cancel)
        except CfxError as exc:
            if cancel.is_set():
                return
            tree.warnings.append(f"audit failed: {exc}")
            self.post_message(self.Audited(ref, f"{ref.label} · audit failed", token, None))
            return
        if cancel.is_set():
            return
        tree.warnings.extend(found.warnings)  # shown with the audit
        if found.audit_error:
            tree.warnings.append(found.audit_error)
        self.post_message(self.Audited(ref, found.summary, token, found.audit))

    def _file_worker(self) -> Any:
        """The worker for whole-model work on a file (audit, validation): memory-limited,
        niced, so browsing keeps the CPU (called from worker threads)."""
        from cfexplore.worker.client import WorkerClient
        from cfexplore.worker.limits import DEFAULT_ONNX_MEMORY_LIMIT

        with self._cfx_client_lock:
            if self._validate_client is None:
                self._validate_client = WorkerClient(
                    memory_limit=DEFAULT_ONNX_MEMORY_LIMIT, nice=10
                )
            return self._validate_client

    @on(ModelOpened)
    def _model_opened(self, event: ModelOpened) -> None:
        if event.token != self._token:
            return  # a newer request is on its way
        self.model = event.tree
        self.audit = None
        tree_view = self.query_one(OnnxTreeView)
        tree_view.loading = False
        self._summary_text = Text.assemble(
            (f"{event.ref.label}", "bold"), (" · counting and auditing…", "dim")
        )
        self._summary(self._summary_text)
        self._close_filter_input()
        tree_view.show_model(event.tree)
        self._refresh_badges()
        self._show_tree(True)
        tree_view.focus()
        if self._pending_path is not None:
            path, self._pending_path = self._pending_path, None
            self.show_path(path)

    @on(TypesInferred)
    def _types_inferred(self, event: TypesInferred) -> None:
        current = event.token == self._token and event.tree is self.model
        if current and event.tree.merge_types(event.types):
            self.query_one(NodeDetailView).reshow()

    @on(Audited)
    def _audited(self, event: Audited) -> None:
        if event.token != self._token or self.model is None:
            return
        self.audit = event.audit
        parts = [Text(part) for part in event.summary.split(" · ")]
        if event.audit is not None and event.audit.flags:
            # right after the counts: a narrow line drops opset and producer before it
            after = max(
                (i for i, p in enumerate(parts) if p.plain.split(" ")[0] in CONTROL_FLOW_OPS),
                default=len(parts) - 1,
            )
            kinds = kinds_text(event.audit, ", ")  # one part, kept whole
            parts.insert(after + 1, Text(f"audit: {kinds}", "bold yellow"))
        summary = Text(" · ").join(parts)
        self._summary_text = summary
        self._refresh_badges()
        for warning in self.model.warnings:
            self.notify(warning, title=event.ref.label, severity="warning", timeout=6)
        if event.ref.exporter is None:  # a file from elsewhere: check it, in a worker
            self._summary(Text.assemble(("validating… · ", "dim"), summary))
            self._validate_cancel = threading.Event()
            self._validate(event.ref, event.token, self._validate_cancel)
        else:
            self._summary(summary)

    # -- validation (checker, size, ORT session) in a memory-limited worker -------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="graph-validate")
    def _validate(self, ref: OnnxRef, token: int, cancel: threading.Event) -> None:
        from cfexplore.engine.session import validate_onnx_file
        from cfexplore.errors import CfxError
        from cfexplore.results import ValidationResult

        try:
            result = validate_onnx_file(ref.path, client=self._file_worker(), cancel=cancel)
        except CfxError as exc:
            if cancel.is_set():
                return
            result = ValidationResult(ref.path, session_error=str(exc), session_details=exc.details)
        self.post_message(self.Validated(ref, result, token))

    def _stop_validation(self) -> None:
        if self._validate_cancel is not None:
            self._validate_cancel.set()
            self._validate_cancel = None

    @on(Validated)
    def _validated(self, event: Validated) -> None:
        if event.token != self._token:
            return
        self._validate_cancel = None
        self.validation = res = event.result
        if res.ok:
            badge = Text("valid ✓ · ", "green")
        else:
            first = res.size_error or res.session_error or res.checker_error
            what = (
                "too large"
                if res.size_error or "too large" in (res.session_error or "")
                else "ORT ✗"
                if res.session_error
                else "checker ✗"
            )
            badge = Text(f"{what} (v) · ", "bold red")
            from cfexplore.termtext import one_line

            self.notify(
                one_line(first),
                title=f"{event.ref.label}: validation",
                severity="warning",
                timeout=8,
            )
        self._summary(Text.assemble(badge, self._summary_text))  # first: long lines get cut
        self.refresh_bindings()

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

    def worker_clients(self) -> list[tuple[str, Any]]:
        """The validation worker (for the app's worker log view)."""
        worker = self._validate_client
        return [("file worker (audit, validation)", worker)] if worker else []

    def stop_background(self) -> None:
        """Quitting: stop the background validation (ctrl+c never counts it as the job)."""
        self._stop_validation()

    def running_jobs(self) -> list[Worker[object]]:
        """Validation is background work: quitting does not ask for it."""
        return [w for w in super().running_jobs() if w.group != "graph-validate"]

    def on_unmount(self) -> None:
        self._stop_validation()
        if self._validate_client is not None:
            self._validate_client.close()

    def action_compare(self) -> None:
        """Open the Compare screen: this model vs another export of the same target."""
        from .compare import CompareScreen, default_pair

        ref = self.onnx_ref
        a, b = default_pair(ref.path if ref else None, self.state.exports)
        self.app.push_screen(CompareScreen(a, b))

    def action_open_source(self) -> None:
        """Open the Python source line recorded for the highlighted node."""
        from cfexplore.graph.items import NodeItem
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

    def _refresh_badges(self) -> None:
        """Badge tree rows with the last sweep's branch trace for this export."""
        ref = self.onnx_ref
        if self.model is None or ref is None:
            return
        trace = self.state.traces.get(ref.exporter) if ref.exporter else None
        self.query_one(OnnxTreeView).set_badges(
            merge_badges(trace_badges(trace or {}), audit_badges(self.audit))
        )

    @on(ModelFailed)
    def _model_failed(self, event: ModelFailed) -> None:
        if event.token == self._token:
            self._failed(event.ref, event.error, details=event.details)

    def worker_failed(self, worker: Worker[object]) -> None:
        """An unexpected error in the open worker: same as a file that cannot be opened."""
        if worker.group == "graph-open" and self.onnx_ref is not None:
            self._failed(
                self.onnx_ref, f"{type(worker.error).__name__}: {worker.error}", notify=False
            )

    def _failed(self, ref: OnnxRef, error: str, notify: bool = True, details: str = "") -> None:
        self.model = None
        self._pending_path = None
        self.query_one(OnnxTreeView).loading = False
        self.query_one(OnnxTreeView).clear_model()
        if notify:
            self.cfx.show_error(f"Cannot open {ref.label}", error, details)
        self._summary(Text.assemble(("cannot open ", "dim"), (ref.label, "bold")))
        message = f"Cannot open {ref.path}:\n{error}\n\nPick another file from Variants (1)."
        if details and details != error:
            from cfexplore.termtext import safe_text

            message += "\n\nDetails:\n" + safe_text(details, 4000, multiline=True)
        self._show_empty(message, error=True)
        self.refresh_bindings()

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

    # -- filter ---------------------------------------------------------------------

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

    def _close_filter_input(self) -> None:
        filter_input = self.query_one("#graph-filter", Input)
        filter_input.value = ""
        self.query_one("#graph-filter-bar").remove_class("-open")
        self.refresh_bindings()

    # -- actions --------------------------------------------------------------------

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

    def action_next_control_flow(self) -> None:
        self.query_one(OnnxTreeView).goto_control_flow(forward=True)

    def action_previous_control_flow(self) -> None:
        self.query_one(OnnxTreeView).goto_control_flow(forward=False)

    def action_expand_control_flow(self) -> None:
        self.query_one(OnnxTreeView).expand_control_flow()

    def action_collapse_all(self) -> None:
        self.query_one(OnnxTreeView).collapse_everything()

    def action_copy_name(self) -> None:
        """y: the name of the node (or graph) under the cursor, to the clipboard."""
        item = self.query_one(OnnxTreeView).highlighted_item
        if isinstance(item, NodeItem):
            self.cfx.copy_text(item.name or item.display_name, "the node name")
        elif isinstance(item, GraphItem) and item.name:
            self.cfx.copy_text(item.name, "the graph name")
        else:
            self.notify("no node under the cursor", timeout=2)

    def action_toggle_detail(self) -> None:
        """Hide or show the detail pane (more room for the tree on narrow terminals)."""
        self.toggle_class("-no-detail")
