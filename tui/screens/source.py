"""Source view: a Python file at one line, that line and the control-flow lines lit."""

from __future__ import annotations

import ast
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import ModalScreen
from textual.widgets import Static

from cfexplore.graph.sourcemap import read_lines
from cfexplore.target.source import control_flow_lines

CONTEXT = 6
"""Lines shown above the target line when the view opens."""


def control_lines(code: str) -> set[int]:
    """Lines of every control-flow statement or call in `code` (the same finder the knob
    search uses, so both agree on what counts)."""
    try:
        return set(control_flow_lines(ast.parse(code)))
    except SyntaxError:
        return set()


class SourceScreen(ModalScreen[None]):
    """Shows `file` scrolled to `line`; Escape closes."""

    DEFAULT_CSS = """
    SourceScreen {
        align: center middle;
    }
    SourceScreen > #source-box {
        width: 95%;
        height: 90%;
        border: thick $primary;
        background: $panel;
        overflow: auto auto;
    }
    SourceScreen #source-code {
        width: auto;  /* long lines scroll sideways (left/right), never cut */
    }
    SourceScreen #source-title {
        height: auto;
        max-height: 2;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("o", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, file: str, line: int, why: str = "") -> None:
        super().__init__()
        self.file = file
        self.line = line
        self.why = why

    def compose(self) -> ComposeResult:
        lines = read_lines(self.file)
        title = Text.assemble(
            (f"{Path(self.file).name}:{self.line}", "bold"),
            (f"  {self.why}" if self.why else "", "italic"),
            ("  · lit: this line (bold), control flow · Esc closes", "dim"),
        )
        yield Static(title, id="source-title")
        with ScrollableContainer(id="source-box"):
            if lines is None:
                yield Static(Text(f"cannot read {self.file}", "red"))
            else:
                code = "\n".join(lines)
                lit = control_lines(code) | {self.line}
                yield Static(
                    Syntax(
                        code,
                        "python",
                        line_numbers=True,
                        highlight_lines=lit,
                        theme="ansi_dark",
                        word_wrap=False,
                        code_width=max((len(line) for line in lines), default=1) + 1,
                    ),
                    id="source-code",
                )

    def on_mount(self) -> None:
        box = self.query_one("#source-box", ScrollableContainer)
        self.call_after_refresh(box.scroll_to, y=max(0, self.line - 1 - CONTEXT), animate=False)
