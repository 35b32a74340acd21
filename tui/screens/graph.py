"""Graph screen: the ONNX node tree (If/Loop/Scan bodies expand in place) and node details.

`GraphScreen` opens the model, audits it and validates an opened file in thread workers
and shows what they report; its widgets and state are `graph_layout.GraphLayout`, its keys
`graph_actions.GraphActions`.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.worker import Worker

from cfexplore.analysis.audit import kinds_text
from cfexplore.errors import GraphError
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import CONTROL_FLOW_OPS
from cfexplore.settings import RunSettings

from .. import jobs
from ..messages import Located, OnnxRef
from ..widgets.node_detail import NodeDetailView
from ..widgets.onnx_tree import OnnxTreeView
from .graph_actions import GraphActions
from .graph_layout import DETAIL_DELAY, EMPTY_TEXT, fit_parts

if TYPE_CHECKING:
    from cfexplore.engine.session import Session

# DETAIL_DELAY and fit_parts: still importable from here (tests)
__all__ = ["DETAIL_DELAY", "GraphScreen", "fit_parts"]


class GraphScreen(GraphActions):
    """Browse an ONNX model: which ifs and loops became If/Loop/Scan, and what they contain."""

    AUTO_FOCUS = "#graph-tree"
    HELP = (
        "The ONNX node tree of the model on show: did your ifs and loops become If, Loop "
        "or Scan nodes (◆, highlighted), or were they frozen into a straight line? "
        "Control-flow rows expand in place into their then/else branches and loop bodies, "
        "to any depth; the side pane shows the selected node's typed inputs and outputs, "
        "attributes, outer-scope reads and source metadata. Wide graphs load as you scroll. "
        "l (locate) runs an export of the loaded target at the Diff screen's values and "
        "jumps to the first node whose value differs from PyTorch."
    )

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
        self._token = 0
        """Counts `load` calls: a worker's report for an older one is dropped."""
        self._validate_client: Any = None
        """The file worker (audit, validation), started on first use."""
        self._cfx_client_lock = threading.Lock()
        self._cfx_analyse_cancel: threading.Event | None = None
        """Set to drop the audit of a model no longer shown."""
        self._cfx_locate_cancel = threading.Event()
        """Set to cancel the running locate (each run gets a fresh one)."""

    def on_mount(self) -> None:
        self.watch(self.app, "onnx", self._onnx_changed, init=False)
        self.watch(self.app, "traces", self._refresh_badges, init=False)
        self._set_narrow(self.app.size.width)
        if self.cfx.onnx is not None:
            self.load(self.cfx.onnx)
        else:
            self._show_empty(EMPTY_TEXT)

    def on_screen_resume(self) -> None:
        """Catch up with a model chosen while another screen was active."""
        onnx = self.cfx.onnx
        if onnx is not None and onnx != self.onnx_ref:
            self.load(onnx)

    def _onnx_changed(self, ref: OnnxRef | None) -> None:
        """A new model to show; none (a target loaded after a file opened alone) keeps the
        one on show until the next export."""
        if ref is not None:
            self.load(ref)

    # -- loading --------------------------------------------------------------------

    def load(self, ref: OnnxRef) -> None:
        """Open `ref` in a thread worker; the tree shows it when the worker reports back."""
        self.onnx_ref = ref
        self._token += 1
        if self._cfx_analyse_cancel is not None:  # the previous model's audit is not wanted
            self._cfx_analyse_cancel.set()
        self._cfx_analyse_cancel = cancel = threading.Event()
        self._stop_validation()
        self.validation = None
        self.query_one(NodeDetailView).set_note(None)  # a locate answer is about one model
        tree_view = self.query_one(OnnxTreeView)
        self._show_tree(True)
        tree_view.loading = True
        self._summary(Text.assemble(("opening ", "dim"), ref.label, ("…", "dim")))
        self._detail_message(f"Opening {ref.path}…")
        self._open(ref, self._token, self.cfx.timeout, cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="graph-open")
    def _open(
        self, ref: OnnxRef, token: int, timeout: float | None, cancel: threading.Event
    ) -> None:
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
        if tree.types_deferred:  # onnx's inference holds the GIL: never in this process
            try:
                types = infer_file(ref.path, self._file_worker(), cancel, timeout)
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

    # -- locate: the first ONNX value that differs from PyTorch -----------------------

    def action_locate(self) -> None:
        """l: run locate on the export on show at the Diff screen's values, then jump."""
        ref = self.onnx_ref
        if ref is None:
            self.notify("nothing on show: export a variant first (2)", timeout=3)
            return
        if ref.exporter is None:
            self.notify(
                "locate needs a PyTorch model: this .onnx file was opened alone. Load a "
                "variant or a Python model and export it (1, 2).",
                severity="warning",
                timeout=6,
            )
            return
        exported = self.cfx.exports.get(ref.exporter)
        if self.cfx.session is None or exported is None or exported.onnx_path != ref.path:
            self.notify(
                "this model is not an export of the loaded target: export it again (2)",
                severity="warning",
                timeout=5,
            )
            return
        self.start_locate(ref.exporter, self.cfx.run_settings(values=dict(self.cfx.run_values)))

    def start_locate(self, exporter: str, settings: RunSettings) -> None:
        """Run locate for `exporter`'s export at `settings` in a thread worker (the Diff
        screen calls this too, at the settings of the diff that failed)."""
        session = self.cfx.session
        if session is None:
            self.notify("nothing loaded: pick a variant in 1 Variants", timeout=3)
            return
        self._cfx_locate_cancel.set()
        self._cfx_locate_cancel = cancel = threading.Event()
        self.notify(f"locating the first diverging node ({exporter})…", timeout=3)
        jobs.name(self._locate(session, exporter, settings, cancel), f"locate {exporter}")

    @work(thread=True, exclusive=True, group="graph-locate", exit_on_error=False)
    def _locate(
        self, session: Session, exporter: str, settings: RunSettings, cancel: threading.Event
    ) -> None:
        """Locate in the target's worker and report; never touches widgets."""
        found = session.locate(exporter, settings, cancel)
        if not cancel.is_set():
            self.post_message(Located(found, exporter))

    @on(Located)
    def _located(self, event: Located) -> None:
        self.show_divergence(event)

    def show_divergence(self, event: Located) -> None:
        """Show a locate answer: its export on show, the first diverging node selected and
        revealed, the answer above its details (and, with no divergence, a notification)."""
        from cfexplore.graph.describe import path_from_str
        from cfexplore.render.locate_text import locate_text

        found, exporter = event.found, event.exporter
        exported = self.cfx.exports.get(exporter)
        path = exported.onnx_path if exported is not None and exported.ok else None
        if path and (self.onnx_ref is None or self.onnx_ref.path != path):
            label = self.cfx.spec.label if self.cfx.spec else exporter
            self.cfx.set_onnx(OnnxRef(path, f"{label} · {exporter}", exporter))
        detail = self.query_one(NodeDetailView)
        text = locate_text(found)
        first = found.first
        if first is None:
            detail.set_note(Text(text, "bold green"))
            verdict = "no divergence" if found.checked else "nothing to compare"
            self.notify(f"{verdict}: {found.checked} values agree with PyTorch", timeout=6)
            return
        detail.set_note(Text(text, "bold yellow"), first.path)
        self.show_path(path_from_str(first.path))

    def cancel_job(self) -> bool:
        """ctrl+c: cancel a running locate (opening and validating are not jobs to cancel)."""
        if not any(w.group == "graph-locate" for w in self.running_jobs()):
            return False
        self._cfx_locate_cancel.set()
        return True

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

    # -- failures -------------------------------------------------------------------

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
