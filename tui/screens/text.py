"""A modal that shows a long plain text: full error details, validation, worker logs."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cfexplore.errortext import strip_ansi
from cfexplore.termtext import safe_text

from ..widgets.footer import CfxFooter

MAX_CHARS = 200_000
"""The tail of longer texts is shown (a worker log can be megabytes)."""


class TextScreen(ModalScreen[None]):
    """`title` over a scrollable `text` (escaped: never parsed as markup or escapes).

    With `reload`, r fetches the text again (a worker log that grows).
    """

    DEFAULT_CSS = """
    TextScreen {
        align: center middle;
    }
    TextScreen > #text-box {
        width: 95%;
        height: 90%;
        border: thick $primary;
        background: $panel;
    }
    TextScreen #text-title {
        height: 1;
        padding: 0 1;
        text-style: bold;
    }
    TextScreen #text-scroll {
        height: 1fr;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("r", "reload", "Reload", id="text.reload"),
        Binding("end", "bottom", "End", show=False),
        Binding("home", "top", "Top", show=False),
        Binding("y", "copy", "Copy", tooltip="Copy the whole text to the clipboard (OSC 52)"),
    ]

    def __init__(
        self,
        title: str,
        text: str,
        reload: Callable[[], str] | None = None,
        *,
        at_end: bool = False,
    ) -> None:
        super().__init__()
        self._title = title
        self._text = text
        self._reload = reload
        self._at_end = at_end
        """Open scrolled to the end (a log: the latest lines matter most)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="text-box"):
            yield Static(Text(safe_text(self._title, 200)), id="text-title")
            with VerticalScroll(id="text-scroll"):
                yield Static(id="text-body")
        yield CfxFooter()

    def on_mount(self) -> None:
        self._show(self._text)
        scroll = self.query_one("#text-scroll", VerticalScroll)
        scroll.focus()
        if self._at_end:
            self.call_after_refresh(scroll.scroll_end, animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reload":
            return self._reload is not None
        return True

    def _show(self, text: str) -> None:
        if len(text) > MAX_CHARS:
            text = "… (earlier text cut)\n" + text[-MAX_CHARS:]
        text = strip_ansi(text)  # ONNX Runtime colours its log lines; other escapes show
        shown = safe_text(text, multiline=True) if text.strip() else "(empty)"
        self.query_one("#text-body", Static).update(Text(shown))

    def action_copy(self) -> None:
        copy_text = getattr(self.app, "copy_text", None)  # the cfexplore app says what it copied
        if callable(copy_text):
            copy_text(self._text, "the text")
        else:
            self.app.copy_to_clipboard(self._text)

    def action_reload(self) -> None:
        if self._reload is not None:
            self._text = self._reload()
            self._show(self._text)
            self.query_one("#text-scroll", VerticalScroll).scroll_end(animate=False)

    def action_bottom(self) -> None:
        self.query_one("#text-scroll", VerticalScroll).scroll_end(animate=False)

    def action_top(self) -> None:
        self.query_one("#text-scroll", VerticalScroll).scroll_home(animate=False)
