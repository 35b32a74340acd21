"""The app's five modes: their keys, and each mode's screen built on its first visit."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from textual.binding import Binding
from textual.screen import Screen

MODE_KEYS = {
    "variants": ("1", "Variants"),
    "export": ("2", "Export"),
    "graph": ("3", "Graph"),
    "diff": ("4", "Diff"),
    "matrix": ("5", "Matrix"),
}
"""Mode -> (its key, its title); a mode's screen is `screens.<mode>.<Mode>Screen`."""

MODE_BINDINGS = [
    Binding(key, f"switch_mode('{mode}')", title, id=f"mode-{mode}", show=False)
    for mode, (key, title) in MODE_KEYS.items()
]
"""1-5: switch to a mode (the mode bar shows them, the footer does not)."""


def _make_screen(mode: str) -> Screen[None]:
    """Build the screen for `mode`, importing its module only when first shown."""
    module = importlib.import_module(f"{__package__}.screens.{mode}")
    screen_class: type[Screen[None]] = getattr(module, f"{mode.capitalize()}Screen")
    return screen_class()


def screen_factory(mode: str) -> Callable[[], Screen[None]]:
    """The `MODES` entry for `mode`: builds its screen when Textual first shows it."""
    return lambda: _make_screen(mode)
