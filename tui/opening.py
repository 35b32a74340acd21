"""What the Open box (or `--open`) takes: a target to load once the user agreed to import
it, an `.onnx` file for the Graph screen, or one line of error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cfexplore.errors import CfxError

from .messages import OnnxRef

if TYPE_CHECKING:
    from cfexplore.spec import TargetSpec

    from .app import CfxApp
    from .open_args import OpenArgs


def is_file(text: str) -> bool:
    """Whether `text` names an existing regular file (`~` expanded); never raises."""
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError, RuntimeError):  # too long, NUL byte, no home folder
        return False


class Opener:
    """Turns typed text into a load (`CfxApp.load_target`) or a file on the Graph screen;
    remembers which user files the user agreed to import this session."""

    def __init__(self, app: CfxApp) -> None:
        self._app = app
        self._consented: set[tuple[str, str]] = set()
        """(path, sha256) of user files the user agreed to import this session."""

    def open(self, text: str) -> bool:
        """See `CfxApp.open_path`; False when the text was refused (one error shown)."""
        from cfexplore.target.targets import parse_target

        from .open_args import OpenArgs, parse_open

        text = text.strip()
        try:
            # a path to an existing file is taken whole (it may hold spaces or quotes)
            args = OpenArgs(text) if is_file(text) else parse_open(text)
        except CfxError as exc:
            return self._cannot_open(str(exc))
        target = args.target
        if target.startswith("~"):
            path_txt, colon, rest = target.partition(":")
            target = str(Path(path_txt).expanduser()) + colon + rest
        if target.endswith(".onnx") or (is_file(target) and not target.endswith(".py")):
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
            self._app.load_target(spec)
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
            self._app.feed_plans[str(path.resolve())] = plan
        self._app.set_onnx(OnnxRef(str(path.resolve()), path.name, None))
        self._app.show_mode("graph")
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
        self._app.notify(
            "inputs as last set: " + ", ".join(f"{n}={t}" for n, t in plan.inputs.items()),
            timeout=4,
        )
        return replace(spec, inputs=inputs)

    def _cannot_open(self, message: str) -> bool:
        """One line of error for text the Open box (or `--open`) cannot take; False."""
        from cfexplore.termtext import one_line

        self._app.notify(one_line(message), title="Cannot open", severity="error", timeout=8)
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
            self._app.load_target(spec)
            return True
        from .screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self._consented.add(key)
                self._app.load_target(spec)
            else:
                self._app.notify("not imported", timeout=2)

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
        self._app.push_screen(ConfirmScreen(title, body), answer)
        return True
