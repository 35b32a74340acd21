"""The app's footer: Textual's, minus a leak on every key-binding change."""

from __future__ import annotations

from collections.abc import Iterable

from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Footer


class CfxFooter(Footer):
    """A Footer that forgets the keys it removed.

    Each rebuild binds its new FooterKey widgets to the footer's `compact` reactive, and
    Textual 8 never drops the watchers of the removed ones (textual#6666): a long session
    piles up dead widgets and every rebuild gets slower. Before composing new keys, the
    watchers of detached nodes are pruned.
    """

    def compose(self) -> Iterable[Widget]:  # type: ignore[override]
        self._prune_watchers()
        yield from super().compose()

    def _prune_watchers(self) -> None:
        watchers = getattr(self, "__watchers", None)
        if not watchers:
            return
        for entries in watchers.values():
            entries[:] = [
                (node, callback)
                for node, callback in entries
                if not isinstance(node, DOMNode) or node is self or node.is_attached
            ]
