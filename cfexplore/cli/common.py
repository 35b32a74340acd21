"""What the CLI commands share: the progress line, the stdout console, opening a session,
checked output paths, knob values from `--set` and the `RunSettings` of a command line."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.results import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, DEFAULT_SEED
from cfexplore.settings import DataFiles, RunSettings


@contextmanager
def progress_for(enabled: bool) -> Iterator[Callable[[float | None, str], None]]:
    """A spinner on stderr (only when it is a terminal) fed by core progress callbacks."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _f, _m: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("starting…") as status:

        def update(frac: float | None, message: str) -> None:
            pct = f"{frac * 100:3.0f}% " if frac is not None else ""
            status.update(f"{pct}{message[:100]}")

        yield update


def stdout_console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False)


def open_session(args: argparse.Namespace, progress: Any, cancel: threading.Event) -> Any:
    from cfexplore.engine.session import Session
    from cfexplore.target.targets import parse_target

    spec = parse_target(args.target, args.init, args.input, args.weights, args.values)
    session = Session.open(spec, progress, cancel, timeout=args.timeout)
    session.timeout = args.timeout
    return session


def output_path(text: str | None, what: str = "-o", extra_suffix: int = 0) -> Path | None:
    """`-o FILE`, checked before any work (`outpath.check_target`): a regular file or
    nothing yet, in a writable folder, with a name the file system takes."""
    from cfexplore.outpath import check_target

    return None if text is None else check_target(text, what, extra_suffix=extra_suffix)


def knob_values(args: argparse.Namespace) -> dict[str, Any]:
    from cfexplore.target.targets import parse_assignments

    return parse_assignments(getattr(args, "set", None), "--set")


def _tolerances(
    given: list[tuple[str | None, float]] | float | None, default: float
) -> tuple[float, dict[str, float]]:
    """`--atol 1e-3 --atol y=1e-2` as (global value, {output name: value})."""
    if given is None:
        return default, {}
    if isinstance(given, (int, float)):
        return float(given), {}
    value, named = default, {}
    for name, v in given:
        if name is None:
            value = v
        else:
            named[name] = v
    return value, named


def data_files(args: argparse.Namespace) -> DataFiles:
    """`--save-*/--load-*` as absolute paths; a save target checked before any work, a file
    to load checked to exist."""
    paths: dict[str, str | None] = {}
    for key in ("save_inputs", "load_inputs", "save_outputs", "load_outputs"):
        text = getattr(args, key, None)
        flag = "--" + key.replace("_", "-")
        if text is None:
            paths[key] = None
        elif key.startswith("save"):
            checked = output_path(text, flag)
            paths[key] = str(Path(str(checked)).resolve())
        else:
            if not Path(text).is_file():
                raise CfxError(f"{flag} {text}: no such file")
            paths[key] = str(Path(text).resolve())
    for key in paths:
        if paths[key] and Path(str(paths[key])).suffix.lower() not in (".json", ".npz"):
            raise CfxError(f"--{key.replace('_', '-')}: the file must end in .json or .npz")
    return DataFiles(**paths)


def settings_from_args(args: argparse.Namespace) -> RunSettings:
    """The one `RunSettings` of a command line: `--opset`, `--seed`, `--rtol`, `--atol`,
    `--equal-nan`, `--reference`, `--reproducible` and the
    `--set` knob values (a command without an option gets its default)."""
    rtol, output_rtol = _tolerances(getattr(args, "rtol", None), DEFAULT_RTOL)
    atol, output_atol = _tolerances(getattr(args, "atol", None), DEFAULT_ATOL)
    mode = getattr(args, "check_mode", "allclose")
    equal_nan = getattr(args, "equal_nan", False)
    if equal_nan and mode == "polygraphy":
        raise CfxError("--equal-nan does not apply to --check-mode polygraphy (its rule fails NaN)")
    return RunSettings(
        opset=getattr(args, "opset", DEFAULT_OPSET),
        seed=getattr(args, "seed", DEFAULT_SEED),
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        check_mode=mode,
        output_rtol=output_rtol or None,
        output_atol=output_atol or None,
        files=data_files(args),
        reference=getattr(args, "reference", None),
        reproducible=getattr(args, "reproducible", False),
        values=knob_values(args),
    )


def export_for_run(
    session: Any,
    args: argparse.Namespace,
    settings: RunSettings,
    run: dict[str, Any],
    progress: Any,
    cancel: threading.Event,
) -> RunSettings:
    """Check the run values, export with `--exporter` at the `--set` values, and give the
    settings to run at (`diff`, `locate`): the export's failure is one clear error."""
    session.check_values(run)
    exp = session.export(args.exporter, settings, progress, cancel)
    if not exp.ok:
        raise CfxError(f"the {args.exporter} export failed: {exp.error}", exp.error_details)
    return settings.with_values(run)
