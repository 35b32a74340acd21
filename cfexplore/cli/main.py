"""The `cfexplore` command: the TUI with no arguments, headless subcommands otherwise.

Results go to stdout, diagnostics to stderr. Exit codes live in `cfexplore.errors`:
0 success, 1 findings (check/matrix verdict frozen/mismatch/failed, or a failed export),
2 usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable

from cfexplore.cli.file_cmds import cmd_tree, cmd_validate, run_audit, run_compare
from cfexplore.cli.locate_cmd import cmd_locate
from cfexplore.cli.model_cmds import (
    cmd_check,
    cmd_diff,
    cmd_export,
    cmd_matrix,
    cmd_report,
    cmd_variants,
)
from cfexplore.cli.parser import build_parser
from cfexplore.errors import EXIT_OK, EXIT_USAGE, Cancelled, CfxError
from cfexplore.termtext import safe_text

WORKER_COMMANDS = frozenset({"export", "validate", "diff", "locate", "check", "matrix", "report"})
"""Commands that start a worker process (and so clean up on SIGTERM/SIGHUP)."""


def run(argv: list[str]) -> int:
    """Parse `argv` and run one command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    cancel = threading.Event()
    handlers: dict[str, Callable[[], int]] = {
        "variants": lambda: cmd_variants(args),
        "export": lambda: cmd_export(args, cancel),
        "tree": lambda: cmd_tree(args),
        "compare": lambda: run_compare(args),
        "audit": lambda: run_audit(args),
        "validate": lambda: cmd_validate(args, cancel),
        "diff": lambda: cmd_diff(args, cancel),
        "locate": lambda: cmd_locate(args, cancel),
        "check": lambda: cmd_check(args, cancel),
        "matrix": lambda: cmd_matrix(args, cancel),
        "report": lambda: cmd_report(args, cancel),
    }
    if args.command is None:
        return _launch_app(parser, args.open, args.timeout or None)
    from cfexplore.cli import signals
    from cfexplore.worker.client import destroy_all, live_clients

    before = live_clients()
    # Commands that run a worker get the clean-stop handlers; the others keep the default
    # (a signal ends them at once, even inside a long C call, and they have nothing to
    # clean up), since a Python handler waits for the main thread to leave C code.
    replaced = signals.install() if args.command in WORKER_COMMANDS else {}
    try:
        return handlers[args.command]()
    except KeyboardInterrupt:
        cancel.set()
        sys.stderr.write("cfexplore: interrupted\n")
        return 130
    except signals.Stopped as exc:
        cancel.set()
        sys.stderr.write(f"cfexplore: stopped by {exc}\n")
        return signals.exit_code(exc.signum)
    except Cancelled as exc:
        sys.stderr.write(f"cfexplore: {safe_text(str(exc))}\n")
        return 130
    except CfxError as exc:
        sys.stderr.write(f"cfexplore: {safe_text(str(exc))}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    finally:
        destroy_all(keep=before)  # what a with-block did not close (a signal mid-cleanup)
        signals.restore(replaced)


def _launch_app(parser: argparse.ArgumentParser, start: str | None, timeout: float | None) -> int:
    """Open the terminal app; print help if the app is not available."""
    try:
        from cfexplore.tui.app import main as app_main
    except ImportError:
        parser.print_help()
        return EXIT_OK
    return app_main(start, timeout)


def main() -> None:
    """Console-script entry point."""
    try:
        code = run(sys.argv[1:])
    except Exception as exc:  # last resort: a one-line message, never a traceback
        sys.stderr.write(
            f"cfexplore: internal error: {type(exc).__name__}: {safe_text(str(exc))}\n"
        )
        code = EXIT_USAGE
    sys.exit(code)
