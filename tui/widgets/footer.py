"""The app's footer: Textual's, minus a leak on every key-binding change, and showing only
the keys that fit whole."""

from __future__ import annotations

from collections.abc import Iterable

from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


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
        self.call_after_refresh(self._cfx_fit, 10)

    def on_resize(self) -> None:
        self.call_after_refresh(self.recompose)  # every key back, then fitted again

    def _cfx_fit(self, tries: int = 0) -> None:
        """Hide the keys that do not fit whole left of the palette key: a narrow terminal
        shows fewer keys (all are in `?` and the palette), never one cut mid-word. Keys
        not laid out yet are measured after the next refresh (`tries` more times)."""
        keys = [k for k in self.children if isinstance(k, FooterKey)]
        if any(not k.region.width for k in keys if k.display):
            if tries > 0:
                self.call_after_refresh(self._cfx_fit, tries - 1)
            return
        palette = [k for k in keys if k.has_class("-command-palette")]
        limit = palette[0].region.x if palette else self.region.right
        for key in keys:
            if key not in palette and key.region.right > limit:
                key.display = False

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
