"""The command palette's own entries: every key binding of the app and its screens, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from . import preload
from .app_modes import MODE_KEYS

if TYPE_CHECKING:
    from .app import CfxApp


def binding_commands(
    app: CfxApp, screen: Screen[object], own: Iterable[SystemCommand]
) -> Iterator[SystemCommand]:
    """Every key binding as a command, each once, with the key as it is shown in the
    footer (`?`, not `question_mark`): the current screen's first, then the app's, then
    those of the other screens built so far ("Diff: Sweep (s)"; choosing one switches
    there first). Titles already among `own` (Textual's commands) are left out."""
    seen = {c.title.casefold() for c in own}
    done: set[tuple[str, str]] = set()
    others = [s for s in app.mode_screens() if s is not screen]
    nodes: list[DOMNode] = [screen, app, *others]
    for node in nodes:
        mode = next((m for m, s in app.mode_pairs() if s is node), None)
        prefix = f"{MODE_KEYS[mode][1]}: " if node in others and mode else ""
        for binding in node.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            owner = "app" if node is app else (prefix or "screen")
            if (owner, binding.action) in done:
                continue
            if binding.action in {"quit", "command_palette"}:
                continue
            done.add((owner, binding.action))
            title = f"{prefix}{binding.description} ({app.get_key_display(binding)})"
            if title.casefold() in seen:
                continue
            seen.add(title.casefold())
            yield SystemCommand(
                title,
                binding.tooltip or binding.description,
                _runner(app, binding.action, node, mode if prefix else None),
            )


def _runner(app: CfxApp, action: str, node: DOMNode, mode: str | None) -> Callable[[], object]:
    """A palette callback: switch to `mode` (if any), then run `action` on `node`."""

    async def run() -> None:
        if mode is not None:
            await asyncio.to_thread(preload.wait, mode)
            await app.switch_mode(mode)
        await app.run_action(action, node)

    return lambda: app.call_later(run)
