"""The app's footer: Textual's, minus a leak on every key-binding change, rebuilt only when
the keys it shows change, and showing only the keys that fit whole."""

from __future__ import annotations

from collections.abc import Iterable

from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: What one composed footer shows: (key, description, enabled, tooltip) per binding.
KeySignature = tuple[tuple[str, str, bool, str], ...]


class CfxFooter(Footer):
    """A Footer that forgets the keys it removed and skips needless rebuilds.

    Each rebuild binds its new FooterKey widgets to the footer's `compact` reactive, and
    Textual 8 never drops the watchers of the removed ones (textual#6666): a long session
    piles up dead widgets and every rebuild gets slower. Before composing new keys, the
    watchers of detached nodes are pruned.

    Textual rebuilds the footer (15-odd widgets, 30-60 ms) on every binding update: a
    focus change, every `refresh_bindings`. A first screen visit did it 6-9 times for the
    same keys. Here a rebuild happens only when the keys shown would differ.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._cfx_shown: KeySignature | None = None

    def _cfx_signature(self) -> KeySignature:
        """The bindings a compose would show now."""
        return tuple(
            (binding.key, binding.description, bool(enabled), tooltip or "")
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        ready = self._bindings_ready and self.is_attached and screen is self.screen
        if ready and self._cfx_signature() == self._cfx_shown:
            return
        super().bindings_changed(screen)

    def compose(self) -> Iterable[Widget]:
        self._prune_watchers()
        if self._bindings_ready:
            self._cfx_shown = self._cfx_signature()
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                # Born with the footer's style (Textual binds every key but the palette
                # key to it): they started compact and were restyled twice as they
                # mounted, 37 style passes per screen build.
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget
        self.call_after_refresh(self._cfx_fit, 10)

    def on_resize(self) -> None:
        """Every key back, then fitted again to the new width (no rebuild)."""
        for key in self.children:
            if isinstance(key, FooterKey):
                key.display = True
        self.call_after_refresh(self._cfx_fit, 10)

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
