"""Help: what the current screen is for and every key it and the app answer to."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Keys of the screen underneath, then the app-wide keys; Escape or ? closes."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 90%;
        max-width: 100;
        height: 90%;
        border: thick $primary;
        background: $panel;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._content())

    def _content(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column()
        name = type(self.under).__name__.removesuffix("Screen")
        grid.add_row(Text("Help", "bold reverse"), Text("Esc or ? closes", "dim"))
        grid.add_row(Text(name, "bold"), Text(getattr(self.under, "HELP", "") or "", "italic"))
        grid.add_row("", "")
        for binding in self.under.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                grid.add_row(self.app.get_key_display(binding), binding.description)
        grid.add_row("", "")
        grid.add_row(Text("Everywhere", "bold"), "")
        for binding in self.app.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                grid.add_row(self.app.get_key_display(binding), binding.description)
        grid.add_row("ctrl+p", "command palette: every action by name")
        grid.add_row("tab / shift+tab", "move between widgets")
        return grid
