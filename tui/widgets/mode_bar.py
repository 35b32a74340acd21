"""A one-line bar: app name, the five screens with the current one lit, the loaded target."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

MODES = (
    ("variants", "1", "Variants"),
    ("export", "2", "Export"),
    ("graph", "3", "Graph"),
    ("diff", "4", "Diff"),
    ("matrix", "5", "Matrix"),
)


class ModeBar(Static):
    """Replaces the Header: shows where you are and how to get elsewhere (keys 1-5)."""

    DEFAULT_CSS = """
    ModeBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def on_mount(self) -> None:
        app = self.app
        for signal in ("target_changed", "onnx_changed"):
            if hasattr(app, signal):
                getattr(app, signal).subscribe(self, lambda _data: self.refresh_bar())
        self.refresh_bar()

    def refresh_bar(self) -> None:
        text = Text.assemble(("cfexplore ", "bold"))
        for mode, key, title in MODES:
            if mode == self.mode:
                text.append(f" {key} {title} ", "bold reverse")
            else:
                text.append(f" {key}", "bold")
                text.append(f" {title}", "dim")
        state = getattr(self.app, "state", None)
        label = state.label if state is not None else ""
        width = self.size.width or 80
        room = width - text.cell_len - 2
        if label and room > 6:
            if len(label) > room:
                label = "…" + label[-(room - 1) :]
            text.append("  ")
            text.append(label, "italic")
        self.update(text)

    def on_resize(self) -> None:
        self.refresh_bar()
