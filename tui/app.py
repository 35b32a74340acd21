"""The cfexplore terminal app: five screens as modes, one worker process per target.

The app's jobs live next to it: `state` (what the screens share, as reactives),
`opening` (what the Open box takes, consent to import), `target_loader` (the load jobs, the
warm worker), `worker_errors` (every failed worker, shown), `commands` (the palette),
`app_modes` (the modes and their screens) and `signals_watch` (SIGTERM/SIGHUP).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from . import commands, jobs, preload, signals_watch
from .app_modes import MODE_BINDINGS, MODE_KEYS, screen_factory
from .css_refresh import CssRefreshMixin
from .messages import Exported, TargetLoaded
from .opening import Opener
from .state import AppState
from .target_loader import TargetLoader
from .worker_errors import ShowsWorkerErrors

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from cfexplore.spec import TargetSpec
    from cfexplore.worker.client import WorkerClient

    from .screens.base import CfxScreen


class CfxApp(ShowsWorkerErrors, CssRefreshMixin, AppState):
    """Pick a variant, export it, browse the If/Loop tree, diff and sweep, see the matrix.

    The state the screens share is `AppState`'s (reactives on the app); a failure of any
    of the app's own workers (a load) shows through `ShowsWorkerErrors`."""

    TITLE = "cfexplore"
    SUB_TITLE = "did your ifs and loops survive the ONNX export?"
    CSS_PATH = ["app.tcss", *(f"screens/{mode}.tcss" for mode in MODE_KEYS)]
    """Every screen's styles, parsed once at start: a screen's own CSS_PATH made Textual
    re-parse the whole stylesheet on its first visit (60-100 ms of a blocked UI)."""
    MODES = {name: screen_factory(name) for name in MODE_KEYS}
    """Each mode's screen is built (and its module imported) on its first visit."""
    DEFAULT_MODE = "variants"
    BINDINGS = [
        *MODE_BINDINGS,
        Binding("question_mark", "help", "Help", id="help"),
        Binding(
            "E",
            "last_error",
            "Last error",
            id="last-error",
            show=False,
            tooltip="The full text of the last error: traceback, worker log",
        ),
        Binding(
            "L",
            "worker_log",
            "Worker log",
            id="worker-log",
            show=False,
            tooltip="What the worker processes printed: user code, exporters, ONNX Runtime",
        ),
        Binding("ctrl+q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "cancel_job", "Cancel job", id="cancel-job", show=False, priority=True),
    ]

    def __init__(self, start: str | None = None) -> None:
        super().__init__()
        self.last_error: tuple[str, str, str] | None = None
        """(title, one-line message, full details) of the last error shown (E)."""
        self._cfx_start = start
        self._cfx_opener = Opener(self)
        self._cfx_loader = TargetLoader(self)
        self._cfx_wanted_mode = self.DEFAULT_MODE
        """The mode asked for last (a screen still loading opens only if it still is)."""
        self._cfx_built_modes = [self.DEFAULT_MODE]
        """Modes whose screens are built (Textual builds one on its first visit), in order."""
        self._cfx_signals: list[int] = []

    def on_mount(self) -> None:
        self._cfx_signals = signals_watch.watch(self._cfx_on_signal)
        self.call_after_refresh(preload.start)  # heavy imports once the first screen shows
        if self._cfx_start:
            self.open_path(self._cfx_start)

    def on_unmount(self) -> None:
        signals_watch.unwatch(self._cfx_signals)
        self._cfx_loader.close()

    # -- modes ----------------------------------------------------------------------

    async def action_switch_mode(self, mode: str) -> None:
        """1-5: show `mode` (see `show_mode`)."""
        self.show_mode(mode)

    def show_mode(self, mode: str) -> None:
        """Show `mode` now if its screen or module is ready; else once the background
        import has it, with a "loading" job in the mode bar meanwhile (keys keep working;
        a later switch wins)."""
        self._cfx_wanted_mode = mode
        built = bool(dict(self._cfx_stacks()).get(mode))
        if built or mode not in MODE_KEYS or preload.ready(mode):
            self.switch_mode(mode)
            return
        worker = self.run_worker(
            self._switch_when_ready(mode), group="screen", exclusive=True, exit_on_error=False
        )
        jobs.name(worker, f"loading the {MODE_KEYS[mode][1]} screen")

    async def _switch_when_ready(self, mode: str) -> None:
        await asyncio.to_thread(preload.wait, mode)
        if self._cfx_wanted_mode == mode:
            await self.switch_mode(mode)

    def switch_mode(self, mode: str) -> AwaitMount:
        """Textual's; notes the modes whose screens it builds, in order (`_cfx_stacks`)."""
        if mode in self.MODES and mode not in self._cfx_built_modes:
            self._cfx_built_modes.append(mode)
        return super().switch_mode(mode)

    def _cfx_stacks(self) -> list[tuple[str, list[Screen[Any]]]]:
        """(mode, its screen stack) for every mode built so far, in the order built."""
        stacks = []
        for mode in self._cfx_built_modes:
            with contextlib.suppress(KeyError):  # its screen failed to build
                stacks.append((mode, self.get_screen_stack(mode)))
        return stacks

    def mode_pairs(self) -> list[tuple[str, Screen[Any]]]:
        """(mode, its top-level screen) for every mode built so far."""
        return [(mode, stack[0]) for mode, stack in self._cfx_stacks() if stack]

    def mode_screens(self) -> list[CfxScreen]:
        """The top-level screens built so far (one per mode visited)."""
        from .screens.base import CfxScreen

        seen = [s for _, stack in self._cfx_stacks() for s in stack]
        return [s for s in seen if isinstance(s, CfxScreen)]

    _mode_screens = mode_screens  # the name tests/system/test_fuzz.py uses

    # -- targets --------------------------------------------------------------------

    def open_path(self, text: str) -> bool:
        """Open what the user typed: a variant name, `file.py:Class`, `pkg.module:fn` or an
        `.onnx` file, the first three optionally followed by the CLI's target options
        (`--init`, `--input`, `--values`, `--weights`).

        Returns False when the text was refused (one error notification, nothing started).
        """
        return self._cfx_opener.open(text)

    def load_target(self, spec: TargetSpec) -> None:
        """Load `spec`: a built-in variant in the shared warm worker, user code in a fresh
        worker process (the previous target's own worker is closed once this one loads)."""
        self._cfx_loader.load(spec)

    def open_variant(self, spec: TargetSpec, exporter: str, mode: str) -> None:
        """Load `spec`, export it with `exporter`, then show `mode` (from the Matrix)."""
        self._cfx_loader.load_and_export(spec, exporter, mode)

    @on(TargetLoaded)
    def _target_loaded(self, event: TargetLoaded) -> None:
        self._cfx_loader.adopt(event.session)

    @on(Exported)
    def _exported(self, event: Exported) -> None:
        self.record_export(event.result, event.label)
        if not event.result.ok:
            self.notify(
                event.result.error or "export failed",
                title="Export failed",
                severity="error",
                timeout=8,
            )
        if event.mode:
            self.show_mode(event.mode)

    # -- errors, notifications, the clipboard ---------------------------------------

    def show_error(self, title: str, message: str, details: str = "") -> None:
        """One line in a notification; the full text stays for E (last error)."""
        from cfexplore.termtext import MAX_MESSAGE_CHARS, one_line

        self.last_error = (title, message, details or message)
        hint = " · E: details" if details and details != message else ""
        line = one_line(message, MAX_MESSAGE_CHARS - len(hint)) + hint
        self.notify(line, title=title, severity="error", timeout=10)

    def action_last_error(self) -> None:
        """E: the full text (traceback, worker log) of the last error shown."""
        from .screens.text import TextScreen

        if self.last_error is None:
            self.notify("no error so far", timeout=2)
            return
        title, message, details = self.last_error
        self.push_screen(TextScreen(title, f"{message}\n\n{details}"))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry paths, errors and model names: never parse them as markup.

        Whatever the caller asked: `Widget.notify` passes `markup=True` by default, and a
        model warning quoting `[link=...]` must show as text, not crash the app.
        """
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def copy_text(self, text: str, what: str) -> None:
        """`y`: put `text` on the local clipboard with OSC 52 (it works over SSH; the
        terminal must allow it) and say what was copied."""
        from cfexplore.errortext import strip_ansi

        text = strip_ansi(text)
        self.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        size = f"{lines} lines" if lines > 1 else f"{len(text)} characters"
        self.notify(f"copied {what} ({size}) to the clipboard", timeout=3)

    # -- commands, help, worker output ----------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own commands, then every key binding (`commands.binding_commands`)."""
        own = list(super().get_system_commands(screen))
        yield from own
        yield from commands.binding_commands(self, screen, own)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def worker_logs(self) -> str:
        """Everything the live worker processes wrote to stdout/stderr (their log files)."""
        parts: list[tuple[str, WorkerClient]] = []
        session = self.session
        if session is not None:
            parts.append((f"target worker · {session.spec.label}", session.client))
        warm = self._cfx_loader.warm
        if warm is not None and (session is None or session.client is not warm):
            parts.append(("built-in variants' worker", warm))
        for screen in self.mode_screens():
            for label, client in getattr(screen, "worker_clients", lambda: [])():
                parts.append((label, client))
        chunks = []
        for label, client in parts:
            chunks.append(f"── {label} (pid {client.pid or '-'}) ──\n{client.log_tail(100_000)}")
        return "\n".join(chunks)

    def action_worker_log(self) -> None:
        """L: show what user code, the exporters and ONNX Runtime printed in the workers."""
        from .screens.text import TextScreen

        text = self.worker_logs()
        if not text:
            self.notify("no worker process has run yet", timeout=3)
            return
        self.push_screen(TextScreen("Worker output", text, self.worker_logs, at_end=True))

    # -- jobs, quitting -------------------------------------------------------------

    def running_jobs(self) -> int:
        """How many jobs (export, diff, sweep, matrix, report, load) are running."""
        running = sum(len(s.running_jobs()) for s in self.mode_screens())
        return running + sum(
            1 for w in self.workers if w.node is self and w.is_running and w.group == "load"
        )

    def action_cancel_job(self) -> None:
        """ctrl+c: cancel the running job of this screen (or any screen); never quits."""
        screens = [self.screen, *[s for s in self.mode_screens() if s is not self.screen]]
        for screen in screens:
            cancel = getattr(screen, "cancel_job", None)
            if cancel is not None and cancel():
                self.notify("cancelled", severity="warning", timeout=3)
                return
        if self._cfx_loader.loading():
            self._cfx_loader.cancel()
            self.notify("loading cancelled", severity="warning", timeout=3)
            return
        self.notify("nothing to cancel · ctrl+q quits", timeout=3)

    async def action_quit(self) -> None:
        """Quit; with a job running, ask first, then cancel every job before leaving."""
        if self.running_jobs():
            from .screens.confirm import ConfirmScreen

            def answer(yes: bool | None) -> None:
                if yes:
                    self._quit_now()

            self.push_screen(
                ConfirmScreen(
                    "Quit with a job running?",
                    "The running export, diff, sweep or matrix is cancelled and its "
                    "worker process killed.",
                ),
                answer,
            )
            return
        self._quit_now()

    def _quit_now(self) -> None:
        for screen in self.mode_screens():
            screen.cancel_job()
            screen.stop_background()
        self._cfx_loader.kill()
        self.exit()

    def _cfx_on_signal(self, signum: int) -> None:
        """SIGTERM or SIGHUP (the SSH session went): no question, no polite shutdown —
        every job is cancelled, every worker's process group killed and its folder
        deleted at once, then the app exits with 128 + the signal number."""
        from cfexplore.worker.client import destroy_all

        self._cfx_loader.cancel()
        for screen in self.mode_screens():
            screen.cancel_job()
        destroy_all()
        self.exit(return_code=128 + signum)


def main(start: str | None = None, timeout: float | None = 600.0) -> int:
    """Run the app (the `cfexplore` command with no subcommand)."""
    app = CfxApp(start)
    app.timeout = timeout
    app.run()
    return app.return_code or 0
