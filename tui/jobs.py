"""Running jobs as the mode bar shows them: what runs, for how long, how far it got.

A job is a Textual thread worker in one of the `LABELS` groups. Its label, start time and
last progress are kept on the worker object itself (`_cfx_*` attributes, names Textual
does not use), so a worker thread can report progress without locks: one attribute
assignment, read by the UI thread's next tick.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from textual.worker import NoActiveWorker, Worker, get_current_worker

LABELS = {
    "load": "loading",
    "export": "export",
    "diff": "diff",
    "sweep": "sweep",
    "matrix": "matrix",
    "report": "report",
    "graph-open": "opening the graph",
    "graph-validate": "validating",
    "save": "saving",
    "screen": "loading the screen",
}
"""Worker group -> the job's default label (groups not listed are not jobs)."""

CANCELLABLE = frozenset({"load", "export", "diff", "sweep", "matrix", "report"})
"""Groups ctrl+c cancels (validation, opening and saving are background work)."""

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Job:
    """One running job as shown: label, seconds since it started, last progress."""

    label: str
    elapsed: float
    fraction: float | None
    text: str
    cancellable: bool


def name(worker: Worker[ResultT], label: str) -> Worker[ResultT]:
    """Give a just-started job a specific label ("loading if-forward-arg")."""
    worker._cfx_label = label  # type: ignore[attr-defined]
    worker._cfx_started = time.monotonic()  # type: ignore[attr-defined]
    return worker


def progress(fraction: float | None, text: str) -> None:
    """Record the calling thread worker's progress (a no-op outside a worker)."""
    try:
        worker = get_current_worker()
    except NoActiveWorker:
        return
    worker._cfx_progress = (fraction, text)  # type: ignore[attr-defined]


def running(workers: Iterable[Worker[object]]) -> list[Job]:
    """The running jobs among `workers`, oldest first."""
    now = time.monotonic()
    jobs: list[tuple[float, Job]] = []
    for worker in workers:
        if not worker.is_running or worker.group not in LABELS:
            continue
        started = getattr(worker, "_cfx_started", None)
        if started is None:  # first seen by a tick: close enough (ticks are 0.1 s apart)
            started = worker._cfx_started = now  # type: ignore[attr-defined]
        fraction, text = getattr(worker, "_cfx_progress", (None, ""))
        label = getattr(worker, "_cfx_label", LABELS[worker.group])
        jobs.append(
            (started, Job(label, now - started, fraction, text, worker.group in CANCELLABLE))
        )
    return [job for _, job in sorted(jobs, key=lambda pair: pair[0])]


def fmt_elapsed(seconds: float) -> str:
    """`4.2s` under a minute, then `1m05s`: short enough for the mode bar."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"
