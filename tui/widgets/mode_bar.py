"""A one-line bar: app name, the five screens with the current one lit, the loaded target
or, while a job runs, a spinner with the job, its progress and elapsed time."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..jobs import Job, fmt_elapsed, running
from ..state import AppState

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

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
        self._cfx_frame = 0
        self._cfx_had_jobs = False

    def on_mount(self) -> None:
        for name in ("session", "onnx"):  # the target's label, or the file's
            self.watch(self.app, name, self._label_changed, init=False)
        self.refresh_bar()
        self.set_interval(0.1, self._tick)

    def _label_changed(self) -> None:
        self.refresh_bar()

    def _tick(self) -> None:
        """Redraw while a job runs (spinner, elapsed time), and once when the last ends."""
        if not self.screen.is_current:
            return
        jobs = running(self.app.workers)
        if jobs or self._cfx_had_jobs:
            self._cfx_frame += 1
            self.refresh_bar(jobs)

    def _modes(self, short: bool) -> Text:
        """The app name and the five screens; `short` keeps only the current one's title."""
        text = Text.assemble(("cfexplore ", "bold"))
        for mode, key, title in MODES:
            if mode == self.mode:
                text.append(f" {key} {title} ", "bold reverse")
            else:
                text.append(f" {key}", "bold")
                if not short:
                    text.append(f" {title}", "dim")
        return text

    def _job_text(self, jobs: list[Job], room: int) -> Text:
        """Spinner, the newest job's label (+N others), its progress, elapsed, ctrl+c."""
        job = jobs[-1]
        spin = SPINNER[self._cfx_frame % len(SPINNER)]
        label = job.label + (f" +{len(jobs) - 1}" if len(jobs) > 1 else "")
        pct = f"{job.fraction:.0%} " if job.fraction is not None and 0 < job.fraction < 1 else ""
        tail = f" {pct}{fmt_elapsed(job.elapsed)}"
        # the ctrl+c hint outranks the label's tail: the label is cut before it is dropped
        hints = ("  ctrl+c cancels", "  ctrl+c") if job.cancellable else ("",)
        for hint in hints:
            if 2 + len(label) + len(tail) + len(hint) <= room:
                break
        if 2 + min(len(label), 12) + len(tail) + len(hint) > room:
            hint = ""
        free = room - 2 - len(tail) - len(hint)
        if len(label) > free:
            label = label[: max(free - 1, 1)].rstrip() + "…"
        return Text.assemble(
            (f"{spin} ", "bold"),
            (label, "italic"),
            (tail, "dim"),
            (hint, "dim"),
        )

    def refresh_bar(self, jobs: list[Job] | None = None) -> None:
        if jobs is None:
            jobs = running(self.app.workers)
        self._cfx_had_jobs = bool(jobs)  # so the tick after the last job ends redraws
        width = self.size.width or 78  # the content width (padding excluded)
        text = self._modes(short=False)
        if jobs:
            if width - text.cell_len - 2 < 36:
                text = self._modes(short=True)
            room = width - text.cell_len - 2
            if room > 8:
                text.append("  ")
                text.append_text(self._job_text(jobs, room))
            self.update(text, layout=False)  # one line, always: no layout pass per tick
            return
        app = self.app
        label = app.label if isinstance(app, AppState) else ""
        room = width - text.cell_len - 2
        if label and room > 6:
            if len(label) > room:
                label = "…" + label[-(room - 1) :]
            text.append("  ")
            text.append(label, "italic")
        self.update(text, layout=False)

    def on_resize(self) -> None:
        self.refresh_bar()
