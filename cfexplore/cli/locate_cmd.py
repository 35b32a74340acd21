"""`cfexplore locate TARGET`: the first ONNX node whose value differs from eager PyTorch."""

from __future__ import annotations

import argparse
import json
import threading

from cfexplore.cli.common import (
    export_for_run,
    open_session,
    progress_for,
    settings_from_args,
    stdout_console,
)
from cfexplore.cli.file_cmds import is_onnx_file
from cfexplore.errors import EXIT_FINDINGS, EXIT_OK, CfxError


def cmd_locate(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Export, then run both sides with every value observable; exit 1 when they diverge."""
    from cfexplore.render.locate_text import locate_text
    from cfexplore.target.targets import parse_assignments

    if is_onnx_file(args.target):
        raise CfxError(
            "locate compares an export with its PyTorch model: give a variant, file.py:Class "
            "or module:Class (for a lone .onnx file, `cfexplore diff FILE.onnx`)"
        )
    settings = settings_from_args(args)
    run = {**(settings.values or {}), **parse_assignments(args.run, "--run")}
    with progress_for(True) as progress, open_session(args, progress, cancel) as session:
        at = export_for_run(session, args, settings, run, progress, cancel)
        found = session.locate(args.exporter, at, cancel)
    if args.json:
        print(json.dumps(found.to_json_dict(), indent=2, default=str))
    else:
        stdout_console().print(locate_text(found), markup=False, highlight=False)
    return EXIT_FINDINGS if found.diverged else EXIT_OK
