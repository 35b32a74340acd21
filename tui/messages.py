"""App-wide messages: facts in the past tense, posted by thin workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class OnnxRef:
    """The ONNX model the Graph screen shows: a file, and where it came from."""

    path: str
    label: str
    exporter: str | None = None
    """The exporter that produced it, or None for a file the user opened."""


class TargetLoaded(Message):
    """A target (variant or user file) is loaded in its worker process."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session


class TargetFailed(Message):
    """Loading a target failed; `details` holds the full text."""

    def __init__(self, label: str, error: str, details: str) -> None:
        super().__init__()
        self.label = label
        self.error = error
        self.details = details


class Exported(Message):
    """An export finished (ok or failed); `mode` is the screen to show next, if any."""

    def __init__(self, result: Any, label: str, mode: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.label = label
        self.mode = mode


class Progressed(Message):
    """Progress of a long operation; consecutive ones coalesce."""

    def __init__(self, source: str, fraction: float | None, text: str) -> None:
        super().__init__()
        self.source = source
        self.fraction = fraction
        self.text = text

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progressed) and message.source == self.source


class Saved(Message):
    """A save finished: the files written, or the one-line reason it failed."""

    def __init__(self, files: list[Any], error: str | None = None) -> None:
        super().__init__()
        self.files = files
        self.error = error
