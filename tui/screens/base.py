"""Behaviour shared by the top-level screens: worker errors shown, never raised."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from cfexplore.errors import Cancelled, CfxError

if TYPE_CHECKING:
    from ..app import CfxApp
    from ..state import AppState


class CfxScreen(Screen[None]):
    """A top-level screen (one per app mode)."""

    HELP: ClassVar[str] = ""
    """One paragraph for the help screen: what this screen is for."""

    @property
    def cfx(self) -> CfxApp:
        return cast("CfxApp", self.app)

    @property
    def state(self) -> AppState:
        return self.cfx.state

    NARROW = 100
    """Below this width the screen gets the `-narrow` class and its panes stack."""

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(self.size.width < self.NARROW, "-narrow")

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """Any worker that raised: one notification, the app keeps running."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, Cancelled):
            self.notify(str(error), severity="warning")
        elif isinstance(error, CfxError):
            self.cfx.show_error("Error", str(error), error.details)
        else:
            from cfexplore.errortext import full_text, short_error

            assert error is not None
            self.cfx.show_error("Error", short_error(error), full_text(error))
        self.worker_failed(event.worker)

    def running_jobs(self) -> list[Worker[object]]:
        """This screen's workers that are still running (export, diff, sweep, matrix...)."""
        return [w for w in self.app.workers if w.node is self and w.is_running]

    def cancel_job(self) -> bool:
        """Cancel this screen's running job, if any; True when something was cancelled.

        Screens set their job's cancel event here: the core then kills its worker process.
        """
        return False

    def stop_background(self) -> None:
        """Hook for quitting: stop work that is not a job (ctrl+c does not cancel it)."""

    def worker_failed(self, worker: Worker[object]) -> None:
        """Hook for screens to reset their running state after a failed worker."""
