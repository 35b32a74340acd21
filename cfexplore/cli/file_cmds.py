"""The commands on `.onnx` files: `tree`, `audit`, `validate`, `compare`, and `diff` of a
lone file (ONNX Runtime against the reference evaluator)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, cast

from cfexplore.cli.common import settings_from_args, stdout_console
from cfexplore.errors import EXIT_FINDINGS, EXIT_OK, CfxError
from cfexplore.termtext import safe_text


def cmd_tree(args: argparse.Namespace) -> int:
    from cfexplore.graph.tree import OnnxTree
    from cfexplore.render.tree_rows import row_lines, tree_rows

    tree = OnnxTree.open(args.file, infer=False)  # the rows show names, not types
    size = tree.footprint
    if size.nodes > size.cap and args.depth is None and args.limit is None:
        raise CfxError(
            f"{safe_text(args.file, 80)}: the model {size.describe()}; print a part of it "
            "with --depth N or --limit N"
        )
    for warning in tree.warnings:
        sys.stderr.write(f"cfexplore: warning: {safe_text(warning)}\n")
    console = stdout_console() if sys.stdout.isatty() else None
    colour = console is not None and console.color_system is not None and not console.no_color
    width = args.width if args.width is not None else console.width if console else 0
    rows = _Capped(tree_rows(tree, args.depth, args.limit, plain=not colour), size.cap)
    lines = row_lines(rows, width or None)
    if console is not None and colour:  # styled, in batches: a rich print per row is slow
        from rich.text import Text

        while batch := cast("list[Text]", list(islice(lines, 500))):
            console.print(Text("\n").join(batch), soft_wrap=True)
    else:  # a pipe, a file or a plain terminal: str lines, written in large chunks
        write = sys.stdout.write
        while chunk := cast("list[str]", list(islice(lines, 4096))):
            write("\n".join(chunk))
            write("\n")
    if rows.cut:
        raise CfxError(f"stopped after {size.cap:,} rows; narrow it with --depth N or --limit N")
    return EXIT_OK


class _Capped:
    """`rows`, stopping after `cap` of them (`cut` then says so)."""

    def __init__(self, rows: Iterator[Any], cap: int) -> None:
        self._rows, self._cap, self.cut = rows, cap, False

    def __iter__(self) -> Iterator[Any]:
        yield from islice(self._rows, self._cap)
        self.cut = next(self._rows, None) is not None


def run_audit(args: argparse.Namespace) -> int:
    from cfexplore.cli.audit_cmd import cmd_audit

    return cmd_audit(args.file, args.json)


def cmd_validate(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.engine.session import validate_onnx_file

    limit = int(args.memory_limit * (1 << 20)) or None
    res = validate_onnx_file(args.file, args.timeout or None, limit, cancel=cancel)
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return EXIT_OK if res.ok else EXIT_FINDINGS
    from rich.text import Text

    from cfexplore.termtext import safe_text

    def line(label: str, error: str | None, ok: str) -> None:
        text = Text(f"{label:<9}")
        text.append(safe_text(error or ok, 300), "red" if error else "green")
        stdout_console().print(text, soft_wrap=True)

    how = "full check" if res.full_check else f"structure only: {res.check_note or 'too big'}"
    line("checker", res.checker_error, f"ok ({how})")
    sized = f"largest tensor {res.largest}" if res.largest else "ok"
    line("size", res.size_error, sized if res.full_check else "not estimated (no shape inference)")
    skipped = "skipped: the model cannot fit" if res.size_error else None
    line(
        "session",
        res.session_error or skipped,
        f"ok: {len(res.inputs)} inputs, {len(res.outputs)} outputs ({res.seconds:.2f}s)",
    )
    return EXIT_OK if res.ok else EXIT_FINDINGS


def run_compare(args: argparse.Namespace) -> int:
    from cfexplore.cli.compare_cmd import cmd_compare

    return cmd_compare(args.a, args.b, args.json)


def is_onnx_file(target: str) -> bool:
    return target.lower().endswith(".onnx") and ":" not in Path(target).name


def cmd_diff_file(args: argparse.Namespace, cancel: threading.Event) -> int:
    """`diff FILE.onnx`: ONNX Runtime vs the reference evaluator; exit 1 when they differ."""
    from cfexplore.engine.filerun import run_file
    from cfexplore.graph.safeload import stat_regular
    from cfexplore.render.report import file_run_table, stats_lines
    from cfexplore.target.feeds import plan_from_args
    from cfexplore.termtext import safe_text

    for option in ("exporter", "run", "set", "init", "weights", "values"):
        if getattr(args, option, None):
            raise CfxError(f"--{option} does not apply to an .onnx file (it has no PyTorch side)")
    stat_regular(args.target)  # a FIFO would block the worker's open()
    plan = plan_from_args(args.input, args.dim)
    settings = settings_from_args(args)
    result = run_file(args.target, plan, settings, cancel=cancel, timeout=args.timeout)
    if result.plan_error:
        raise CfxError(result.plan_error)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        out = stdout_console()
        out.print(file_run_table(result))
        for line in stats_lines(result.outputs):
            out.print(line)
        out.print(f"reproduce: {safe_text(result.command)}", style="dim", markup=False)
    return EXIT_OK if result.passed else EXIT_FINDINGS
