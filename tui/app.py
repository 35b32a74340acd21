"""The cfexplore terminal app: five screens as modes, one worker process per target."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal

from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error
from cfexplore.results import ExportResult
from cfexplore.spec import TargetSpec

from . import jobs, preload
from .css_refresh import CssRefreshMixin
from .messages import Exported, OnnxRef, TargetFailed, TargetLoaded
from .state import AppState

if TYPE_CHECKING:
    from cfexplore.engine.session import Session
    from cfexplore.worker.client import WorkerClient

    from .open_args import OpenArgs
    from .screens.base import CfxScreen

MODE_KEYS = {
    "variants": ("1", "Variants"),
    "export": ("2", "Export"),
    "graph": ("3", "Graph"),
    "diff": ("4", "Diff"),
    "matrix": ("5", "Matrix"),
}


def _is_file(text: str) -> bool:
    """Whether `text` names an existing regular file (`~` expanded); never raises."""
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError, RuntimeError):  # too long, NUL byte, no home folder
        return False


def _make_screen(mode: str) -> Screen[None]:
    """Build the screen for `mode`, importing its module only when first shown."""
    import importlib

    module = importlib.import_module(f"{__package__}.screens.{mode}")
    screen_class: type[Screen[None]] = getattr(module, f"{mode.capitalize()}Screen")
    return screen_class()


def _screen_factory(mode: str) -> Callable[[], Screen[None]]:
    """The `MODES` entry for `mode`: builds its screen when Textual first shows it."""
    return lambda: _make_screen(mode)


class CfxApp(CssRefreshMixin):
    """Pick a variant, export it, browse the If/Loop tree, diff and sweep, see the matrix."""

    TITLE = "cfexplore"
    SUB_TITLE = "did your ifs and loops survive the ONNX export?"
    CSS_PATH = ["app.tcss", *(f"screens/{mode}.tcss" for mode in MODE_KEYS)]
    """Every screen's styles, parsed once at start: a screen's own CSS_PATH made Textual
    re-parse the whole stylesheet on its first visit (60-100 ms of a blocked UI)."""
    MODES = {name: _screen_factory(name) for name in MODE_KEYS}
    DEFAULT_MODE = "variants"
    BINDINGS = [
        *(
            Binding(key, f"switch_mode('{mode}')", title, id=f"mode-{mode}", show=False)
            for mode, (key, title) in MODE_KEYS.items()
        ),
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
        self.state = AppState()
        self.last_error: tuple[str, str, str] | None = None
        """(title, one-line message, full details) of the last error shown (E)."""
        self.target_changed: Signal[AppState] = Signal(self, "target-changed")
        """Published when a target is loaded (or replaced)."""
        self.onnx_changed: Signal[OnnxRef] = Signal(self, "onnx-changed")
        """Published when the ONNX model on show changes."""
        self.exports_changed: Signal[str] = Signal(self, "exports-changed")
        """Published with the exporter name when an export finished."""
        self.traces_changed: Signal[str] = Signal(self, "traces-changed")
        """Published with the exporter name when a sweep recorded a new branch trace."""
        self._start = start
        self._load_cancel = threading.Event()
        self._consented: set[tuple[str, str]] = set()
        """(path, sha256) of user files the user agreed to import this session."""
        self._cfx_variant_worker: WorkerClient | None = None
        self._cfx_wanted_mode = self.DEFAULT_MODE
        """The mode asked for last (a screen still loading opens only if it still is)."""
        self._cfx_worker_lock = threading.Lock()
        self._cfx_signals: list[int] = []

    def on_mount(self) -> None:
        self._cfx_signals = _watch_signals(self._cfx_on_signal)
        self.call_after_refresh(preload.start)  # heavy imports once the first screen shows
        if self._start:
            self.open_path(self._start)

    # -- modes ----------------------------------------------------------------------

    async def action_switch_mode(self, mode: str) -> None:
        """1-5: show `mode` (see `show_mode`)."""
        self.show_mode(mode)

    def show_mode(self, mode: str) -> None:
        """Show `mode` now if its screen or module is ready; else once the background
        import has it, with a "loading" job in the mode bar meanwhile (keys keep working;
        a later switch wins)."""
        self._cfx_wanted_mode = mode
        built = bool(self._screen_stacks.get(mode))
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

    # -- targets --------------------------------------------------------------------

    def open_path(self, text: str) -> bool:
        """Open what the user typed: a variant name, `file.py:Class`, `pkg.module:fn` or an
        `.onnx` file, the first three optionally followed by the CLI's target options
        (`--init`, `--input`, `--values`, `--weights`).

        Returns False when the text was refused (one error notification, nothing started).
        """
        from cfexplore.target.targets import parse_target

        from .open_args import OpenArgs, parse_open

        text = text.strip()
        try:
            # a path to an existing file is taken whole (it may hold spaces or quotes)
            args = OpenArgs(text) if _is_file(text) else parse_open(text)
        except CfxError as exc:
            return self._cannot_open(str(exc))
        target = args.target
        if target.startswith("~"):
            path_txt, colon, rest = target.partition(":")
            target = str(Path(path_txt).expanduser()) + colon + rest
        if target.endswith(".onnx") or (_is_file(target) and not target.endswith(".py")):
            return self._open_onnx(target, args)
        if args.dim:
            return self._cannot_open("--dim applies to .onnx files; give a model --input")
        try:
            spec = parse_target(target, args.init, args.input, args.weights, args.values)
        except CfxError as exc:
            return self._cannot_open(str(exc))
        if spec.path is not None and not args.input:
            spec = self._recalled_inputs(spec)
        if spec.path is None:
            self.load_target(spec)
            return True
        return self._ask_consent(spec)

    def _open_onnx(self, target: str, args: OpenArgs) -> bool:
        """An .onnx file, alone: into the Graph; `--input`/`--dim` set its Diff inputs."""
        from cfexplore.filekind import unreadable
        from cfexplore.target.feeds import plan_from_args

        if args.model_options:
            return self._cannot_open(
                f"{args.target}: --init, --values and --weights apply to variants and Python "
                "targets; an .onnx file takes --input and --dim"
            )
        path = Path(target)
        why = unreadable(path)  # a FIFO or a device is refused here, never opened
        if why:
            return self._cannot_open(f"{args.target}: {why}")
        if args.input or args.dim:
            try:
                plan = plan_from_args(args.input, args.dim)
            except CfxError as exc:
                return self._cannot_open(str(exc))
            self.state.feed_plans[str(path.resolve())] = plan
        self.set_onnx(OnnxRef(str(path.resolve()), path.name, None))
        self.show_mode("graph")
        return True

    def _recalled_inputs(self, spec: TargetSpec) -> TargetSpec:
        """A Python file's input shapes as last set in the inputs editor (if unchanged)."""
        from dataclasses import replace

        from cfexplore.target import inputstore
        from cfexplore.target.targets import parse_input

        plan = inputstore.recall(spec.path or "")
        if plan is None or not plan.inputs:
            return spec
        try:
            inputs = tuple(parse_input(f"{n}={t}") for n, t in plan.inputs.items())
        except CfxError:
            return spec
        self.notify(
            "inputs as last set: " + ", ".join(f"{n}={t}" for n, t in plan.inputs.items()),
            timeout=4,
        )
        return replace(spec, inputs=inputs)

    def _cannot_open(self, message: str) -> bool:
        """One line of error for text the Open box (or `--open`) cannot take; False."""
        from cfexplore.termtext import one_line

        self.notify(one_line(message), title="Cannot open", severity="error", timeout=8)
        return False

    def _ask_consent(self, spec: TargetSpec) -> bool:
        """User code is code: import it only once the user said yes to this exact file.

        Consent is keyed on the path and the file's SHA-256, so a changed file asks again;
        for a `pkg.module:fn` target the file is the module's own (found without importing).
        """
        from cfexplore.fileio import file_sha256

        assert spec.path is not None
        try:
            digest = file_sha256(spec.path)
        except OSError as exc:
            return self._cannot_open(f"cannot read {spec.path}: {exc.strerror}")
        key = (spec.path, digest)
        if key in self._consented:
            self.load_target(spec)
            return True
        from .screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self._consented.add(key)
                self.load_target(spec)
            else:
                self.notify("not imported", timeout=2)

        if spec.module:
            title = f"Import and run {spec.module}?"
            body = (
                f"{spec.path} (sha256 {digest[:12]}…) is the module's file: importing "
                f"{spec.module} runs it, and whatever it imports, as you, in a separate "
                "worker process. Only say yes to code you trust."
            )
        else:
            title = f"Import and run {Path(spec.path).name}?"
            body = (
                f"{spec.path} (sha256 {digest[:12]}…) is Python code: importing it runs it, "
                "as you, in a separate worker process. Only say yes to code you trust."
            )
        self.push_screen(ConfirmScreen(title, body), answer)
        return True

    def _shared_worker(self, spec: TargetSpec) -> WorkerClient | None:
        """The warm worker every built-in variant loads into (torch is imported once per
        app run); None for user code, which gets a fresh process of its own."""
        if not spec.variant:
            return None
        with self._cfx_worker_lock:
            if self._cfx_variant_worker is None:
                from cfexplore.worker.client import WorkerClient

                self._cfx_variant_worker = WorkerClient()
            return self._cfx_variant_worker

    def load_target(self, spec: TargetSpec) -> None:
        """Load `spec`: a built-in variant in the shared warm worker, user code in a fresh
        worker process (the previous target's own worker is closed once this one loads)."""
        self._load_cancel.set()
        self._load_cancel = threading.Event()
        jobs.name(self._load(spec, self._load_cancel), f"loading {spec.short_label}")

    def _open_session(self, spec: TargetSpec, cancel: threading.Event) -> Session:
        """Open `spec` in its worker (the shared one for built-in variants), progress to
        the job bar, the app's time limit on the load and on each export (worker thread)."""
        from cfexplore.engine.session import Session

        client = self._shared_worker(spec)
        session = Session.open(spec, jobs.progress, cancel, client, self.state.timeout)
        session.timeout = self.state.timeout
        return session

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, spec: TargetSpec, cancel: threading.Event) -> None:
        try:
            session = self._open_session(spec, cancel)
        except CfxError as exc:
            if not cancel.is_set():
                self.post_message(TargetFailed(spec.label, str(exc), exc.details))
            return
        except Exception as exc:  # a bug must not take the app down
            self.post_message(TargetFailed(spec.label, short_error(exc), full_text(exc)))
            return
        if cancel.is_set():
            session.close()
            return
        self.post_message(TargetLoaded(session))

    @on(TargetLoaded)
    def _target_loaded(self, event: TargetLoaded) -> None:
        old = self.state.session
        self.state.session = event.session
        self.state.spec = event.session.spec
        self.state.exports = {}
        self.state.traces = {}
        if self.state.onnx is not None and self.state.onnx.exporter is None:
            # a file opened alone stops being the Diff screen's subject once a target loads
            # (the Graph keeps showing it until the next export)
            self.state.onnx = None
        if old is not None:
            self._close_session(old)
        self.notify(f"{event.session.spec.label} loaded", timeout=2)
        self.target_changed.publish(self.state)

    @on(TargetFailed)
    def _target_failed(self, event: TargetFailed) -> None:
        self.show_error(f"Cannot load {event.label}", event.error, event.details)

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

    @work(thread=True, group="close")
    def _close_session(self, session: object) -> None:
        session.close()  # type: ignore[attr-defined]

    def open_variant(self, spec: TargetSpec, exporter: str, mode: str) -> None:
        """Load `spec`, export it with `exporter`, then show `mode` (from the Matrix)."""
        self._load_cancel.set()
        self._load_cancel = threading.Event()
        worker = self._open_and_export(spec, exporter, mode, self._load_cancel)
        jobs.name(worker, f"loading {spec.short_label}, then {exporter}")

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _open_and_export(
        self, spec: TargetSpec, exporter: str, mode: str, cancel: threading.Event
    ) -> None:
        try:
            session = self._open_session(spec, cancel)
            if cancel.is_set():
                session.close()
                return
            self.post_message(TargetLoaded(session))
            result = session.export(
                exporter, self.state.opset, progress=jobs.progress, cancel=cancel
            )
        except CfxError as exc:
            if not cancel.is_set():
                self.post_message(TargetFailed(spec.label, str(exc), exc.details))
            return
        except Exception as exc:  # a bug must not vanish: shown, and the app keeps running
            self.post_message(TargetFailed(spec.label, short_error(exc), full_text(exc)))
            return
        self.post_message(Exported(result, spec.label, mode))

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

    def record_export(self, result: ExportResult, label: str) -> None:
        """Remember an export; a successful one becomes the model on show."""
        self.state.exports[result.exporter] = result
        if result.ok and result.onnx_path:
            self.set_onnx(
                OnnxRef(result.onnx_path, f"{label} · {result.exporter}", result.exporter)
            )
        self.exports_changed.publish(result.exporter)

    def set_onnx(self, ref: OnnxRef) -> None:
        """Show `ref` in the Graph screen (and make it the Diff screen's ONNX-only model)."""
        self.state.onnx = ref
        self.onnx_changed.publish(ref)

    # -- commands and help ----------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own commands, then every key binding as a command, each once, with
        the key as it is shown in the footer (`?`, not `question_mark`): the current
        screen's first, then those of the other screens built so far ("Diff: Sweep (s)";
        choosing one switches there first)."""
        own = list(super().get_system_commands(screen))
        yield from own
        seen = {c.title.casefold() for c in own}
        done: set[tuple[str, str]] = set()
        others = [s for s in self._mode_screens() if s is not screen]
        for node in (screen, self, *others):
            mode = next((m for m, s in self._mode_pairs() if s is node), None)
            prefix = f"{MODE_KEYS[mode][1]}: " if node in others and mode else ""
            for binding in node.BINDINGS:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                owner = "app" if node is self else (prefix or "screen")
                if (owner, binding.action) in done:
                    continue
                if binding.action in {"quit", "command_palette"}:
                    continue
                done.add((owner, binding.action))
                title = f"{prefix}{binding.description} ({self.get_key_display(binding)})"
                if title.casefold() in seen:
                    continue
                seen.add(title.casefold())
                yield SystemCommand(
                    title,
                    binding.tooltip or binding.description,
                    self._command_runner(binding.action, node, mode if prefix else None),
                )

    def _command_runner(self, action: str, node: object, mode: str | None) -> Callable[[], object]:
        """A palette callback: switch to `mode` (if any), then run `action` on `node`."""

        async def run() -> None:
            if mode is not None:
                await asyncio.to_thread(preload.wait, mode)
                await self.switch_mode(mode)
            await self.run_action(action, node)  # type: ignore[arg-type]

        return lambda: self.call_later(run)

    def _mode_pairs(self) -> list[tuple[str, Screen[object]]]:
        """(mode, its top-level screen) for every mode built so far."""
        return [(mode, stack[0]) for mode, stack in self._screen_stacks.items() if stack]

    def _mode_screens(self) -> list[CfxScreen]:
        """The top-level screens built so far (one per mode visited)."""
        from .screens.base import CfxScreen

        seen = [s for stack in self._screen_stacks.values() for s in stack]
        return [s for s in seen if isinstance(s, CfxScreen)]

    def running_jobs(self) -> int:
        """How many jobs (export, diff, sweep, matrix, report, load) are running."""
        jobs = sum(len(s.running_jobs()) for s in self._mode_screens())
        return jobs + sum(
            1 for w in self.workers if w.node is self and w.is_running and w.group == "load"
        )

    def action_cancel_job(self) -> None:
        """ctrl+c: cancel the running job of this screen (or any screen); never quits."""
        screens = [self.screen, *[s for s in self._mode_screens() if s is not self.screen]]
        for screen in screens:
            cancel = getattr(screen, "cancel_job", None)
            if cancel is not None and cancel():
                self.notify("cancelled", severity="warning", timeout=3)
                return
        if any(w.is_running for w in self.workers if w.group == "load"):
            self._load_cancel.set()
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
        for screen in self._mode_screens():
            screen.cancel_job()
            screen.stop_background()
        self._load_cancel.set()
        if self.state.session is not None:
            self.state.session.client.kill()
        if self._cfx_variant_worker is not None:
            self._cfx_variant_worker.kill()
        self.exit()

    def copy_text(self, text: str, what: str) -> None:
        """`y`: put `text` on the local clipboard with OSC 52 (it works over SSH; the
        terminal must allow it) and say what was copied."""
        from cfexplore.errortext import strip_ansi

        text = strip_ansi(text)
        self.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        size = f"{lines} lines" if lines > 1 else f"{len(text)} characters"
        self.notify(f"copied {what} ({size}) to the clipboard", timeout=3)

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

    def worker_logs(self) -> str:
        """Everything the live worker processes wrote to stdout/stderr (their log files)."""
        parts = []
        session = self.state.session
        if session is not None:
            parts.append((f"target worker · {session.spec.label}", session.client))
        warm = self._cfx_variant_worker
        if warm is not None and (session is None or session.client is not warm):
            parts.append(("built-in variants' worker", warm))
        for screen in self._mode_screens():
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

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def _cfx_on_signal(self, signum: int) -> None:
        """SIGTERM or SIGHUP (the SSH session went): no question, no polite shutdown —
        every job is cancelled, every worker's process group killed and its folder
        deleted at once, then the app exits with 128 + the signal number."""
        from cfexplore.worker.client import destroy_all

        self._load_cancel.set()
        for screen in self._mode_screens():
            screen.cancel_job()
        destroy_all()
        self.exit(return_code=128 + signum)

    def on_unmount(self) -> None:
        _unwatch_signals(self._cfx_signals)
        self._load_cancel.set()  # a load still running kills its worker, not waits for it
        if self.state.session is not None:
            self.state.session.close()
        if self._cfx_variant_worker is not None:
            self._cfx_variant_worker.close()


def _watch_signals(callback: Callable[[int], None]) -> list[int]:
    """Call `callback(signum)` on the event loop for SIGTERM and SIGHUP; the signals
    actually watched (none off the main thread)."""
    import signal

    loop = asyncio.get_running_loop()
    watched = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(signum, callback, int(signum))
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        watched.append(int(signum))
    return watched


def _unwatch_signals(watched: list[int]) -> None:
    loop = asyncio.get_running_loop()
    for signum in watched:
        loop.remove_signal_handler(signum)


def main(start: str | None = None, timeout: float | None = 600.0) -> int:
    """Run the app (the `cfexplore` command with no subcommand)."""
    app = CfxApp(start)
    app.state.timeout = timeout
    app.run()
    return app.return_code or 0
