"""Heavy imports in a background thread, started right after the first paint.

The screens behind keys 2-5 import onnx (about 0.6 s), numpy and the engine. Imported on
first visit, that blocked the UI thread and keys typed meanwhile replayed afterwards. The
app starts `start()` once the first screen is drawn; a screen visited before its module is
in shows a "loading" job in the mode bar and opens when the module is ready, while the UI
keeps answering keys.
"""

from __future__ import annotations

import contextlib
import importlib
import threading

SCREENS = ("export", "graph", "diff", "matrix")
"""Screen modules in the order they are imported (the likely order of first visits)."""

AFTER = (
    "numpy",
    "onnx",
    "cfexplore.engine.session",
    "cfexplore.graph.tree",
    "cfexplore.render.report",
)
"""Modules the screens' first jobs import; loaded after the screens themselves."""

_ready: dict[str, threading.Event] = {}
_lock = threading.Lock()
_thread: threading.Thread | None = None


def _module(mode: str) -> str:
    return f"{__package__}.screens.{mode}"


def start() -> None:
    """Import the screen modules, then the heavy libraries, in a daemon thread (once)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        for mode in SCREENS:
            _ready.setdefault(mode, threading.Event())
        _thread = threading.Thread(target=_run, name="cfx-preload", daemon=True)
        _thread.start()


def _run() -> None:
    for mode in SCREENS:
        try:
            importlib.import_module(_module(mode))
        except Exception:  # noqa: S110 - the UI thread's own import reports it
            pass
        finally:
            _ready[mode].set()
    for name in AFTER:
        with contextlib.suppress(Exception):  # whoever needs it reports the error
            importlib.import_module(name)


def ready(mode: str) -> bool:
    """Whether showing `mode` now imports nothing slow on the UI thread."""
    event = _ready.get(mode)
    return event is None or event.is_set()


def wait(mode: str, timeout: float | None = None) -> bool:
    """Block (in a thread, never the UI's) until `mode`'s module is imported."""
    event = _ready.get(mode)
    return True if event is None else event.wait(timeout)
