"""Errors the core raises on purpose, and the exit codes the CLI maps them to."""

from __future__ import annotations

import os

from cfexplore.termtext import one_line, with_path

EXIT_OK = 0
"""Success (for `check`: every verdict is preserved or no-effect)."""
EXIT_FINDINGS = 1
"""`check`/`matrix`: a verdict is frozen, mismatch or failed; `export`: the export failed."""
EXIT_USAGE = 2
"""Usage or input error: one line on stderr, never a traceback."""


class CfxError(Exception):
    """A user-facing error: bad input, missing file, unknown variant or knob.

    `details` holds the full text (a traceback, a worker log) for a details view; the
    message itself is one readable line.
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details or message


class WorkerError(CfxError):
    """The worker process reported an error while running a request."""

    def __init__(self, message: str, details: str = "", etype: str = "") -> None:
        super().__init__(message, details)
        self.etype = etype


class WorkerCrashed(CfxError):
    """The worker process died (sys.exit at import, segfault, killed)."""


class Cancelled(CfxError):
    """The operation was cancelled; its worker process was killed."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class TimedOut(CfxError):
    """A worker request ran past its time limit; the worker process was killed."""


class GraphError(CfxError):
    """A file cannot be opened as an ONNX model.

    The message is one user-facing line; `details` keeps the full text (the parser's own
    error, the path, the offending tensor). A CfxError, so the worker replies with it as a
    user error and the CLI prints it as one line, exit 2, with no conversion at each caller.
    """


def graph_error(
    path: str | os.PathLike[str], what: str, details: str = "", *, verb: str = ""
) -> GraphError:
    """A GraphError `[<verb> ]<path>: <what>` kept to one line of at most 160 characters."""
    msg = with_path(path, verb, what)
    return GraphError(one_line(msg), details or msg)
