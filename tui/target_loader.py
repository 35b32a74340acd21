"""Loading a target in its worker process, one load at a time (a newer load cancels the
older), and the warm worker process every built-in variant shares.

A load that fails raises: the app's worker error handler (`worker_errors`) shows it under
"Cannot load <target>". A cancelled or replaced load ends quietly: its Textual worker is
cancelled with it, so its worker process's death is no error to show.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING

from cfexplore.settings import RunSettings

from . import jobs
from .messages import Exported, TargetLoaded
from .worker_errors import titled

if TYPE_CHECKING:
    from cfexplore.engine.session import Session
    from cfexplore.spec import TargetSpec
    from cfexplore.worker.client import WorkerClient

    from .app import CfxApp


class TargetLoader:
    """Runs the app's "load" jobs: thread workers that open a `Session` and post
    `TargetLoaded`, optionally exporting right after (`Exported`)."""

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
            partial(self._load, spec, self._app.timeout, cancel),
            name="_load",
            group="load",
            exclusive=True,
            exit_on_error=False,
            thread=True,
        )
        jobs.name(worker, f"loading {spec.short_label}")
        titled(worker, f"Cannot load {spec.label}")

    def load_and_export(self, spec: TargetSpec, exporter: str, mode: str) -> None:
        """See `CfxApp.open_variant`."""
        cancel = self._restart()
        app = self._app
        worker = app.run_worker(
            partial(
                self._load_and_export, spec, exporter, app.run_settings(), app.timeout, mode, cancel
            ),
            name="_open_and_export",
            group="load",
            exclusive=True,
            exit_on_error=False,
            thread=True,
        )
        jobs.name(worker, f"loading {spec.short_label}, then {exporter}")
        titled(worker, f"Cannot load {spec.label}")

    def cancel(self) -> None:
        """Cancel the running load, if any (its worker process is killed, not waited for):
        as a newer load does, which cancels the older's Textual worker (`exclusive`)."""
        self._cancel.set()
        self._app.workers.cancel_group(self._app, "load")

    def loading(self) -> bool:
        """Whether a "load" job (of the app or a screen) is running."""
        return any(w.is_running for w in self._app.workers if w.group == "load")

    def adopt(self, session: Session) -> None:
        """A loaded target becomes the app's (`AppState.new_target`, which its screens
        follow); the previous session is closed in a thread."""
        old = self._app.session
        self._app.new_target(session)
        if old is not None:
            self._app.run_worker(
                old.close, name="_close_session", group="close", thread=True, exit_on_error=False
            )
        self._app.notify(f"{session.spec.label} loaded", timeout=2)

    def kill(self) -> None:
        """Quitting: cancel the load, kill the target's and the warm worker's processes."""
        self.cancel()
        if self._app.session is not None:
            self._app.session.client.kill()
        if self._warm is not None:
            self._warm.kill()

    def close(self) -> None:
        """The app is gone: cancel the load, close the session and the warm worker."""
        self._cancel.set()  # a load still running kills its worker, not waits for it
        if self._app.session is not None:
            self._app.session.close()
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

    def _open_session(
        self, spec: TargetSpec, timeout: float | None, cancel: threading.Event
    ) -> Session:
        """Open `spec` in its worker (the shared one for built-in variants), progress to
        the job bar, the app's time limit on the load and on each export (worker thread)."""
        from cfexplore.engine.session import Session

        client = self._shared_worker(spec)
        session = Session.open(spec, jobs.progress, cancel, client, timeout)
        session.timeout = timeout
        return session

    def _load(self, spec: TargetSpec, timeout: float | None, cancel: threading.Event) -> None:
        """The load job's body (a worker thread)."""
        session = self._open_session(spec, timeout, cancel)
        if cancel.is_set():  # cancelled or replaced as it finished
            session.close()
            return
        self._app.post_message(TargetLoaded(session))

    def _load_and_export(
        self,
        spec: TargetSpec,
        exporter: str,
        settings: RunSettings,
        timeout: float | None,
        mode: str,
        cancel: threading.Event,
    ) -> None:
        """Load, then export with `exporter` (a worker thread)."""
        session = self._open_session(spec, timeout, cancel)
        if cancel.is_set():
            session.close()
            return
        self._app.post_message(TargetLoaded(session))
        result = session.export(exporter, settings, progress=jobs.progress, cancel=cancel)
        self._app.post_message(Exported(result, spec.label, mode))
