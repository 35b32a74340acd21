"""Failed workers, shown in one place.

A worker posts its result or raises: it never catches a failure to show it itself. Every
node that runs workers (the app, its screens, the ONNX tree) mixes in `ShowsWorkerErrors`,
whose one `Worker.StateChanged` handler puts the error on screen through the app's error
display (`CfxApp.show_error`: one line, the full text for E) and then calls the node's
`worker_failed` hook, where a screen resets what the job left half done.

`Worker.StateChanged` does not bubble, so each node that starts workers needs the mixin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast
from weakref import WeakKeyDictionary

from textual import on
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

from cfexplore.errors import Cancelled, CfxError

if TYPE_CHECKING:
    from .app import CfxApp

ResultT = TypeVar("ResultT")

_TITLES: WeakKeyDictionary[Worker[Any], str] = WeakKeyDictionary()
"""Worker -> the title its failure shows under, when not "Error" (see `titled`)."""


def titled(worker: Worker[ResultT], title: str) -> Worker[ResultT]:
    """Show a failure of the just-started `worker` under `title` ("Cannot load x.py:Net")."""
    _TITLES[worker] = title
    return worker


def show_failure(app: CfxApp, worker: Worker[Any]) -> None:
    """The error `worker` raised, on screen: a cancel as a warning, a `CfxError` as its one
    line (its details for E), anything else (a bug) as its type and first line, with the
    traceback for E. The app keeps running."""
    error = worker.error
    title = _TITLES.get(worker, "Error")
    if isinstance(error, Cancelled):
        app.notify(str(error), severity="warning")
    elif isinstance(error, CfxError):
        app.show_error(title, str(error), error.details)
    elif error is not None:
        from cfexplore.errortext import full_text, short_error

        app.show_error(title, short_error(error), full_text(error))


class ShowsWorkerErrors(MessagePump):
    """Mixed into a node that runs workers: their failures go to `show_failure`.

    A `MessagePump`, not a `DOMNode`: it takes no part in the node's CSS type names, so it
    may come first among the bases (`class CfxScreen(ShowsWorkerErrors, Screen[None])`).
    """

    @on(Worker.StateChanged)
    def _cfx_worker_state(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        show_failure(cast("CfxApp", self.app), event.worker)
        self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """Hook: reset what `worker` left running (its error is on screen already)."""
