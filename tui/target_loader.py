"""Loading a target in its worker process, one load at a time (a newer load cancels the
older), and the warm worker process every built-in variant shares."""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING

from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error

from . import jobs
from .messages import Exported, TargetFailed, TargetLoaded

if TYPE_CHECKING:
    from cfexplore.engine.session import Session
    from cfexplore.spec import TargetSpec
    from cfexplore.worker.client import WorkerClient

    from .app import CfxApp


class TargetLoader:
    """Runs the app's "load" jobs: thread workers that open a `Session` and post
    `TargetLoaded` (or `TargetFailed`), optionally exporting right after (`Exported`)."""

    def __init__(self, app: CfxApp) -> None:
        self._app = app
        self._cancel = threading.Event()
        """The running load's cancel event (a new load replaces it)."""
        self._warm: WorkerClient | None = None
        self._lock = threading.Lock()

    @property
    def warm(self) -> WorkerClient | None:
        """The built-in variants' shared worker, once one was loaded."""
        return self._warm

    def load(self, spec: TargetSpec) -> None:
        """See `CfxApp.load_target`."""
        cancel = self._restart()
        worker = self._app.run_worker(
            partial(self._load, spec, cancel),
            name="_load",
            group="load",
            exclusive=True,
            exit_on_error=False,
            thread=True,
        )
        jobs.name(worker, f"loading {spec.short_label}")

    def load_and_export(self, spec: TargetSpec, exporter: str, mode: str) -> None:
        """See `CfxApp.open_variant`."""
        cancel = self._restart()
        worker = self._app.run_worker(
            partial(self._load_and_export, spec, exporter, mode, cancel),
            name="_open_and_export",
            group="load",
            exclusive=True,
            exit_on_error=False,
            thread=True,
        )
        jobs.name(worker, f"loading {spec.short_label}, then {exporter}")

    def cancel(self) -> None:
        """Cancel the running load, if any (its worker process is killed, not waited for)."""
        self._cancel.set()

    def loading(self) -> bool:
        """Whether a "load" job (of the app or a screen) is running."""
        return any(w.is_running for w in self._app.workers if w.group == "load")

    def adopt(self, session: Session) -> None:
        """A loaded target becomes the app's: the previous session is closed (in a
        thread), its exports and traces forgotten, and `target_changed` published."""
        state = self._app.state
        old = state.session
        state.session = session
        state.spec = session.spec
        state.exports = {}
        state.traces = {}
        if state.onnx is not None and state.onnx.exporter is None:
            # a file opened alone stops being the Diff screen's subject once a target loads
            # (the Graph keeps showing it until the next export)
            state.onnx = None
        if old is not None:
            self._app.run_worker(old.close, name="_close_session", group="close", thread=True)
        self._app.notify(f"{session.spec.label} loaded", timeout=2)
        self._app.target_changed.publish(state)

    def kill(self) -> None:
        """Quitting: cancel the load, kill the target's and the warm worker's processes."""
        self._cancel.set()
        if self._app.state.session is not None:
            self._app.state.session.client.kill()
        if self._warm is not None:
            self._warm.kill()

    def close(self) -> None:
        """The app is gone: cancel the load, close the session and the warm worker."""
        self._cancel.set()  # a load still running kills its worker, not waits for it
        if self._app.state.session is not None:
            self._app.state.session.close()
        if self._warm is not None:
            self._warm.close()

    def _restart(self) -> threading.Event:
        """Cancel the running load; the new load's cancel event."""
        self._cancel.set()
        self._cancel = threading.Event()
        return self._cancel

    def _shared_worker(self, spec: TargetSpec) -> WorkerClient | None:
        """The warm worker every built-in variant loads into (torch is imported once per
        app run); None for user code, which gets a fresh process of its own."""
        if not spec.variant:
            return None
        with self._lock:
            if self._warm is None:
                from cfexplore.worker.client import WorkerClient

                self._warm = WorkerClient()
            return self._warm

    def _open_session(self, spec: TargetSpec, cancel: threading.Event) -> Session:
        """Open `spec` in its worker (the shared one for built-in variants), progress to
        the job bar, the app's time limit on the load and on each export (worker thread)."""
        from cfexplore.engine.session import Session

        client = self._shared_worker(spec)
        timeout = self._app.state.timeout
        session = Session.open(spec, jobs.progress, cancel, client, timeout)
        session.timeout = timeout
        return session

    def _load(self, spec: TargetSpec, cancel: threading.Event) -> None:
        """The load job's body (a worker thread): never raises."""
        try:
            session = self._open_session(spec, cancel)
        except CfxError as exc:
            if not cancel.is_set():
                self._app.post_message(TargetFailed(spec.label, str(exc), exc.details))
            return
        except Exception as exc:  # a bug must not take the app down
            self._app.post_message(TargetFailed(spec.label, short_error(exc), full_text(exc)))
            return
        if cancel.is_set():
            session.close()
            return
        self._app.post_message(TargetLoaded(session))

    def _load_and_export(
        self, spec: TargetSpec, exporter: str, mode: str, cancel: threading.Event
    ) -> None:
        """Load, then export with `exporter` (a worker thread): never raises."""
        try:
            session = self._open_session(spec, cancel)
            if cancel.is_set():
                session.close()
                return
            self._app.post_message(TargetLoaded(session))
            result = session.export(
                exporter, self._app.state.opset, progress=jobs.progress, cancel=cancel
            )
        except CfxError as exc:
            if not cancel.is_set():
                self._app.post_message(TargetFailed(spec.label, str(exc), exc.details))
            return
        except Exception as exc:  # a bug must not vanish: shown, and the app keeps running
            self._app.post_message(TargetFailed(spec.label, short_error(exc), full_text(exc)))
            return
        self._app.post_message(Exported(result, spec.label, mode))
