"""Behaviour shared by the top-level screens: worker errors shown, never raised."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.screen import Screen
from textual.worker import Worker

from ..worker_errors import ShowsWorkerErrors

if TYPE_CHECKING:
    from ..app import CfxApp


class CfxScreen(ShowsWorkerErrors, Screen[None]):
    """A top-level screen (one per app mode). A worker of its that fails shows in one
    notification (`ShowsWorkerErrors`), then `worker_failed` resets the screen."""

    HELP: ClassVar[str] = ""
    """One paragraph for the help screen: what this screen is for."""

    @property
    def cfx(self) -> CfxApp:
        """The app, with the state the screens share (`state.AppState`)."""
        return cast("CfxApp", self.app)

    NARROW = 100
    """Below this width the screen gets the `-narrow` class and its panes stack."""

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(self.size.width < self.NARROW, "-narrow")

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
