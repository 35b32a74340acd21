"""An Input whose editing keys keep their order with the characters typed around them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from textual import events
from textual.actions import parse
from textual.binding import Binding
from textual.widgets import Input


def _sync_actions() -> dict[str, tuple[str, tuple[Any, ...]]]:
    """key -> (action name, arguments) of Input's own bindings that are plain methods."""
    table: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for binding in Input.BINDINGS:
        if not isinstance(binding, Binding):
            continue
        _, name, params = parse(binding.action)
        method = getattr(Input, f"action_{name}", None)
        if method is None or inspect.iscoroutinefunction(method):
            continue  # enter (submit) is a coroutine: it keeps the normal path
        for key in binding.key.split(","):
            table[key.strip()] = (name, params)
    return table


_ACTIONS = _sync_actions()


class TextInput(Input):
    """`Input`, with its editing keys (backspace, delete, arrows, home/end, ctrl+w...)
    run at once from the key handler.

    Textual 8.2.8 (the latest release) runs a widget's key bindings after the printable
    keys that arrived in the same read from the terminal: Backspace Backspace x y z sent in
    one write (a fast typist over SSH, a paste of keys, tmux send-keys) gives "x", because
    the two deletes run after "xyz" was typed. Run here, each key acts in the order it came.
    """

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls `_on_key` of every class in the MRO; prevent_default() stops
        # Input's own handler for the keys handled here, the rest reach it unchanged
        found = _ACTIONS.get(event.key)
        if found is None:
            return
        name, params = found
        action: Callable[..., object] = getattr(self, f"action_{name}")
        event.stop()
        event.prevent_default()
        self._restart_blink()
        action(*params)
