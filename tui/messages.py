"""App-wide messages: facts in the past tense, posted by thin workers (a worker that fails
raises instead, and `worker_errors` shows it).

Each is a small dataclass (Textual's `Message.__post_init__` sets up the message when the
dataclass `__init__` has filled in the fields, as textual's own `Input.Changed` does).
`eq=False` keeps each message equal only to itself and hashable, as Textual's plain
`Message` is (Textual keeps messages in sets and dicts).
The core types are imported for type checking only: importing this module stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from pathlib import Path

    from cfexplore.divergence import Divergence
    from cfexplore.engine.session import Session
    from cfexplore.results import ExportResult


@dataclass
class OnnxRef:
    """The ONNX model the Graph screen shows: a file, and where it came from."""

    path: str
    label: str
    exporter: str | None = None
    """The exporter that produced it, or None for a file the user opened."""


@dataclass(eq=False)
class TargetLoaded(Message):
    """A target (variant or user file) is loaded in its worker process."""

    session: Session
    """The loaded target's session; the app owns it from here (and closes it)."""


@dataclass(eq=False)
class Exported(Message):
    """An export finished (ok or failed); `mode` is the screen to show next, if any."""

    result: ExportResult
    label: str
    """The target's label, for the model's name on the Graph screen."""
    mode: str | None = None


@dataclass(eq=False)
class Progressed(Message):
    """Progress of a long operation; consecutive ones from one source coalesce."""

    source: str
    """Which job reports ("export", "matrix"): only its own older messages are replaced."""
    fraction: float | None
    """Done so far in [0, 1], or None when unknown."""
    text: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progressed) and message.source == self.source


@dataclass(eq=False)
class Saved(Message):
    """A save finished: the files written (a failed save raised: `worker_errors`)."""

    files: list[Path]


@dataclass(eq=False)
class Located(Message):
    """A locate run finished: where `exporter`'s export first disagrees with PyTorch."""

    found: Divergence
    exporter: str
