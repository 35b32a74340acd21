"""The `cfexplore` command: the TUI with no arguments, headless subcommands otherwise.

Results go to stdout, diagnostics to stderr. Exit codes live in `cfexplore.errors`:
0 success, 1 findings (check/matrix verdict frozen/mismatch/failed, or a failed export),
2 usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from cfexplore import __version__
from cfexplore.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Cancelled, CfxError
from cfexplore.results import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, DEFAULT_SEED, EXPORTERS
from cfexplore.termtext import safe_text

DESCRIPTION = """\
Did your Python ifs and loops survive the ONNX export? Export a model with
torch.jit.script, torch.jit.trace or torch.export (dynamo), browse the ONNX
If/Loop tree, diff PyTorch against ONNX Runtime on seeded inputs and sweep every
control input for a verdict: preserved, frozen, no-effect, mismatch or failed.
Run without a command to open the terminal app."""

TARGET_HELP = (
    "a built-in variant (see `cfexplore variants`), path/to/file.py:ClassName or an "
    "importable package.module:callable"
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"cfexplore: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(EXIT_USAGE)


def _number(text: str, *, integer: bool = False) -> float:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None


def _positive_float(text: str) -> float:
    """A finite number >= 0 (tolerances): NaN would fail every comparison, inf pass all."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def _seconds(text: str) -> float:
    """A time limit: finite seconds >= 0, 0 meaning none (NaN used to mean none too)."""
    value = _number(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be seconds >= 0 (0: no limit): {text!r}")
    return value


def _mebibytes(text: str) -> float:
    """A memory limit in MiB: finite, >= 0, 0 meaning none."""
    value = _number(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be MiB >= 0 (0: no limit): {text!r}")
    return value


def _count(text: str) -> int:
    """A non-negative integer (seed, depth, limit)."""
    value = int(_number(text, integer=True))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def _opset(text: str) -> int:
    value = int(_number(text, integer=True))
    if not 7 <= value <= 30:
        raise argparse.ArgumentTypeError(f"must be an ONNX opset between 7 and 30: {text!r}")
    return value


def _target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help=TARGET_HELP)
    p.add_argument(
        "--init",
        action="append",
        metavar="KEY=VALUE",
        help="constructor arguments for a user class or factory, e.g. hidden=64,bias=false "
        "(repeatable; config={...} builds a Hugging Face model's config)",
    )
    p.add_argument(
        "--input",
        action="append",
        metavar="NAME=SHAPE[:DTYPE][:LO..HI]",
        help="tensor input for a target without example_inputs(), e.g. x=1x3x8x8 or "
        "input_ids=1x8:int64:0..100 (integers in [0, 100)); for an .onnx file also "
        "NAME=VALUE, a constant (sr=16000)",
    )
    p.add_argument(
        "--values",
        action="append",
        metavar="KNOB=V1,V2,...",
        help="the values a sweep tries for this knob (repeatable), e.g. sr=8000,16000",
    )
    p.add_argument(
        "--weights",
        metavar="FILE.pt",
        help="load this state_dict into the model (torch.load weights_only=True: a pickle "
        "that holds code is refused)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KNOB=VALUE",
        dest="set",
        help="knob value at export time (repeatable), e.g. branch_testing=true",
    )
    p.add_argument(
        "--opset", type=_opset, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})"
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=600.0,
        help="seconds loading the target, and each export, may take before the worker is "
        "killed (default 600)",
    )


def _reproducible_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reproducible",
        action="store_true",
        help="run ONNX Runtime single-threaded and sequential: identical outputs run to run",
    )


def _reference_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run onnx's ReferenceEvaluator as a third backend (default: only for "
        "models up to 8 MiB; it is pure numpy)",
    )


def _tolerance_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed",
        type=_count,
        default=DEFAULT_SEED,
        help=f"seed for the generated inputs (default {DEFAULT_SEED})",
    )
    p.add_argument(
        "--rtol",
        type=_positive_float,
        default=DEFAULT_RTOL,
        help=f"relative tolerance (default {DEFAULT_RTOL:g})",
    )
    p.add_argument(
        "--atol",
        type=_positive_float,
        default=DEFAULT_ATOL,
        help=f"absolute tolerance (default {DEFAULT_ATOL:g}); an element passes "
        "when |onnx - torch| <= atol + rtol*|torch|",
    )
    p.add_argument(
        "--equal-nan",
        action="store_true",
        help="count NaN in PyTorch and NaN in ONNX at the same place as equal (default: fail)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cfexplore",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cfexplore {__version__}")
    parser.add_argument(
        "--open",
        metavar="TARGET",
        help="app: open this variant, file.py:Class or .onnx file at start",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=600.0,
        help="app: seconds loading a target, and each export, may take (default 600; 0: none)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("variants", help="list the built-in model variants and their knobs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--all", action="store_true", help="include the full-size seed variants")

    p = sub.add_parser("export", help="export a target to ONNX with one exporter")
    _target_args(p)
    p.add_argument("--exporter", choices=EXPORTERS, required=True)
    p.add_argument("-o", "--output", metavar="FILE", help="write the .onnx file here (atomic)")
    p.add_argument(
        "--external-data",
        action="store_true",
        help="with -o: keep the weights in a sibling FILE.<hash>.data file (saved atomically "
        "with the model; saving again never grows it)",
    )
    p.add_argument("--details", action="store_true", help="on failure print the full error")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("tree", help="print the ONNX node tree with If/Loop/Scan bodies nested")
    p.add_argument("file", help="an .onnx file")
    p.add_argument("--depth", type=_count, default=None, help="levels of nested graphs to show")
    p.add_argument("--limit", type=_count, default=None, help="nodes to show per graph")

    p = sub.add_parser(
        "audit", help="structural audit: constant-condition If, constant Loop, unrolled loops"
    )
    p.add_argument("file", help="an .onnx file")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "validate",
        help="onnx.checker full check, size estimate and an ORT session, in a limited worker",
    )
    p.add_argument("file", help="an .onnx file")
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=120.0,
        help="seconds the check may take before the worker is killed (default 120)",
    )
    p.add_argument(
        "--memory-limit",
        type=_mebibytes,
        default=8192.0,
        metavar="MIB",
        help="address-space limit of the worker in MiB (default 8192)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "compare", help="align two .onnx files by their If/Loop skeleton: what one folded"
    )
    p.add_argument("a", help="first .onnx file (e.g. the script export)")
    p.add_argument("b", help="second .onnx file (e.g. the dynamo export)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "diff",
        help="seeded PyTorch vs ONNX Runtime diff for one export (an .onnx file: ONNX "
        "Runtime vs the reference evaluator)",
    )
    _target_args(p)
    p.add_argument(
        "--exporter", choices=EXPORTERS, help="the export to diff (required for a model)"
    )
    p.add_argument(
        "--dim",
        action="append",
        metavar="SYMBOL=N",
        help="an .onnx file's symbolic dim, e.g. N=512 (repeatable; unset ones are fed as 1)",
    )
    p.add_argument(
        "--run",
        action="append",
        metavar="KNOB=VALUE",
        help="knob value at run time only, after exporting with the --set values: how a "
        "frozen knob shows (repeatable)",
    )
    _tolerance_args(p)
    _reference_arg(p)
    _reproducible_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("check", help="sweep every knob under each exporter: verdict table")
    _target_args(p)
    p.add_argument("--exporter", choices=[*EXPORTERS, "all"], default="all")
    _tolerance_args(p)
    _reference_arg(p)
    _reproducible_arg(p)
    p.add_argument("--json", action="store_true", help="print the JSON document")

    p = sub.add_parser("report", help="write a Markdown (or JSON) report for one target")
    _target_args(p)
    p.add_argument("--exporter", choices=[*EXPORTERS, "all"], default="all")
    _tolerance_args(p)
    _reference_arg(p)
    _reproducible_arg(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomic); else stdout")
    p.add_argument("--json", action="store_true", help="JSON instead of Markdown")

    p = sub.add_parser("matrix", help="the seed table (If/Loop x where the value lives), live")
    p.add_argument("--exporter", choices=[*EXPORTERS, "all"], default="all")
    p.add_argument(
        "--full-size",
        action="store_true",
        help="use the full-size seed model (1x3x256x256, slower)",
    )
    p.add_argument("--opset", type=_opset, default=DEFAULT_OPSET)
    _tolerance_args(p)
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[float | None, str], None]]:
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


def _out() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False)


def _session(args: argparse.Namespace, progress: Any, cancel: threading.Event) -> Any:
    from cfexplore.engine.session import Session
    from cfexplore.target.targets import parse_target

    spec = parse_target(args.target, args.init, args.input, args.weights, args.values)
    session = Session.open(spec, progress, cancel, timeout=args.timeout)
    session.timeout = args.timeout
    return session


def _output_path(text: str | None, what: str = "-o", extra_suffix: int = 0) -> Path | None:
    """`-o FILE`, checked before any work (`outpath.check_target`): a regular file or
    nothing yet, in a writable folder, with a name the file system takes."""
    from cfexplore.outpath import check_target

    return None if text is None else check_target(text, what, extra_suffix=extra_suffix)


def _values(args: argparse.Namespace) -> dict[str, Any]:
    from cfexplore.target.targets import parse_assignments

    return parse_assignments(args.set, "--set")


def cmd_variants(args: argparse.Namespace) -> int:
    from cfexplore.models import VARIANTS

    chosen = [v for v in VARIANTS.values() if args.all or not v.heavy]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": v.name,
                        "construct": v.construct,
                        "where": v.where,
                        "description": v.description,
                        "heavy": v.heavy,
                        "inputs": [
                            {"name": i.name, "shape": list(i.shape), "dtype": i.dtype}
                            for i in v.inputs
                        ],
                        "knobs": [
                            {
                                "name": k.name,
                                "where": k.where,
                                "values": list(k.values),
                                "default": k.default,
                                "construct": k.construct,
                            }
                            for k in v.knobs
                        ],
                    }
                    for v in chosen
                ],
                indent=2,
            )
        )
        return EXIT_OK
    from cfexplore.render.report import variants_table

    _out().print(variants_table(chosen))
    if not args.all:
        print("(add --all for the full-size seed-* variants)")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.graph.save import save_onnx
    from cfexplore.outpath import DATA_SUFFIX_BYTES
    from cfexplore.render.report import export_summary

    values = _values(args)
    out_path = _output_path(args.output, extra_suffix=DATA_SUFFIX_BYTES * args.external_data)
    with _progress(True) as progress, _session(args, progress, cancel) as session:
        result = session.export(args.exporter, args.opset, values, progress, cancel)
        saved = None
        if result.ok and out_path is not None and result.onnx_path:
            save_onnx(result.onnx_path, out_path, external_data=args.external_data)
            saved = str(out_path)
    if args.json:
        data = result.to_dict()
        data["onnx_path"] = saved
        print(json.dumps(data, indent=2, default=str))
    else:
        _out().print(export_summary(result, saved))
        if not result.ok:
            if args.details:
                print(safe_text(result.error_details, multiline=True), file=sys.stderr)
            else:
                print("(add --details for the full error)", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def cmd_tree(args: argparse.Namespace) -> int:
    from cfexplore.graph.tree import OnnxTree
    from cfexplore.render.graph_text import tree_lines

    tree = OnnxTree.open(args.file, infer=False)  # the rows show names, not types
    size = tree.footprint
    if size.nodes > size.cap and args.depth is None and args.limit is None:
        raise CfxError(
            f"{safe_text(args.file, 80)}: the model {size.describe()}; print a part of it "
            "with --depth N or --limit N"
        )
    for warning in tree.warnings:
        sys.stderr.write(f"cfexplore: warning: {safe_text(warning)}\n")
    rows = _Capped(tree_lines(tree, depth=args.depth, limit=args.limit, plain=True), size.cap)
    if sys.stdout.isatty():  # styled, in batches: one rich print per row is slow
        from rich.text import Text

        console = _out()
        batch: list[Any] = []
        styled = _Capped(tree_lines(tree, depth=args.depth, limit=args.limit), size.cap)
        for line in styled:
            batch.append(line)
            if len(batch) >= 500:
                console.print(Text("\n").join(batch), soft_wrap=True)
                batch.clear()
        if batch:
            console.print(Text("\n").join(batch), soft_wrap=True)
        rows.cut = styled.cut
    else:  # a pipe or a file: plain text, streamed
        write = sys.stdout.write
        for line in rows:
            write(line)
            write("\n")
    if rows.cut:
        raise CfxError(f"stopped after {size.cap:,} rows; narrow it with --depth N or --limit N")
    return EXIT_OK


class _Capped:
    """`lines`, stopping after `cap` of them (`cut` then says so)."""

    def __init__(self, lines: Iterator[Any], cap: int) -> None:
        self._lines, self._cap, self.cut = lines, cap, False

    def __iter__(self) -> Iterator[Any]:
        for i, line in enumerate(self._lines):
            if i >= self._cap:
                self.cut = True
                return
            yield line


def _audit(args: argparse.Namespace) -> int:
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
        _out().print(text, soft_wrap=True)

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


def _compare(args: argparse.Namespace) -> int:
    from cfexplore.cli.compare_cmd import cmd_compare

    return cmd_compare(args.a, args.b, args.json)


def _is_onnx_file(target: str) -> bool:
    return target.lower().endswith(".onnx") and ":" not in Path(target).name


def cmd_diff_file(args: argparse.Namespace, cancel: threading.Event) -> int:
    """`diff FILE.onnx`: ONNX Runtime vs the reference evaluator; exit 1 when they differ."""
    from cfexplore.engine.filerun import run_file
    from cfexplore.graph.safeload import stat_regular
    from cfexplore.render.report import file_run_table
    from cfexplore.settings import RunSettings
    from cfexplore.target.feeds import plan_from_args
    from cfexplore.termtext import safe_text

    for option in ("exporter", "run", "set", "init", "weights", "values"):
        if getattr(args, option, None):
            raise CfxError(f"--{option} does not apply to an .onnx file (it has no PyTorch side)")
    stat_regular(args.target)  # a FIFO would block the worker's open()
    plan = plan_from_args(args.input, args.dim)
    settings = RunSettings(seed=args.seed, rtol=args.rtol, atol=args.atol, reference=args.reference)
    result = run_file(args.target, plan, settings, cancel=cancel, timeout=args.timeout)
    if result.plan_error:
        raise CfxError(result.plan_error)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        out = _out()
        out.print(file_run_table(result))
        out.print(f"reproduce: {safe_text(result.command)}", style="dim", markup=False)
    return EXIT_OK if result.passed else EXIT_FINDINGS


def cmd_diff(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.render.report import diff_table
    from cfexplore.target.targets import parse_assignments

    if _is_onnx_file(args.target):
        return cmd_diff_file(args, cancel)
    if args.dim:
        raise CfxError("--dim applies to an .onnx file; for a model give --input NAME=SHAPE")
    if not args.exporter:
        raise CfxError("diff: --exporter is required for a model (script, trace or dynamo)")
    values = _values(args)
    run = {**values, **parse_assignments(args.run, "--run")}
    with _progress(True) as progress, _session(args, progress, cancel) as session:
        session.check_values(run)
        exp = session.export(args.exporter, args.opset, values, progress, cancel)
        if not exp.ok:
            raise CfxError(f"the {args.exporter} export failed: {exp.error}", exp.error_details)
        result = session.diff(
            args.exporter,
            args.seed,
            run,
            args.rtol,
            args.atol,
            cancel,
            args.reference,
            equal_nan=args.equal_nan,
        )
    if args.json:
        data = result.to_dict()
        data["max_abs"] = result.max_abs
        print(json.dumps(data, indent=2, default=str))
    else:
        out = _out()
        out.print(diff_table(result))
        if result.providers:
            out.print(
                f"providers: {', '.join(result.providers)} (available: "
                f"{', '.join(result.available_providers)})",
                style="dim",
            )
        out.print(f"reproduce: {safe_text(result.command)}", style="dim", markup=False)
    return EXIT_OK if result.passed else EXIT_FINDINGS


def cmd_check(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.render.report import check_table

    values = _values(args)
    exporters = EXPORTERS if args.exporter == "all" else (args.exporter,)
    with _progress(True) as progress, _session(args, progress, cancel) as session:
        report = session.check(
            exporters,
            args.opset,
            args.seed,
            args.rtol,
            args.atol,
            values,
            progress,
            cancel,
            args.reference,
            equal_nan=args.equal_nan,
        )
    if args.json:
        print(json.dumps(report.to_json_dict(), indent=2, default=str))
    else:
        _out().print(check_table(report))
        print(f"reproduce: {safe_text(report.command)}")
    return EXIT_FINDINGS if report.bad else EXIT_OK


def cmd_report(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.fileio import atomic_write_bytes
    from cfexplore.render.reportdoc import build_report, report_markdown

    values = _values(args)
    out_path = _output_path(args.output)
    exporters = EXPORTERS if args.exporter == "all" else (args.exporter,)
    with _progress(True) as progress, _session(args, progress, cancel) as session:
        rep = build_report(
            session,
            exporters,
            args.opset,
            args.seed,
            args.rtol,
            args.atol,
            values,
            args.reference,
            progress,
            cancel,
            args.equal_nan,
        )
    text = (
        json.dumps(rep.to_json_dict(), indent=2, default=str) if args.json else report_markdown(rep)
    )
    if out_path is None:
        print(safe_text(text, multiline=True))
    else:
        atomic_write_bytes(out_path, text.encode())
        print(f"wrote {safe_text(str(out_path))}")
    return EXIT_OK


def cmd_matrix(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.engine.session import matrix
    from cfexplore.fileio import atomic_write_bytes
    from cfexplore.render.report import matrix_markdown, matrix_tables

    exporters = EXPORTERS if args.exporter == "all" else (args.exporter,)
    md_path = _output_path(args.markdown, "--markdown")
    with _progress(True) as progress:
        m = matrix(
            exporters,
            args.full_size,
            args.opset,
            args.seed,
            args.rtol,
            args.atol,
            progress,
            cancel,
            args.equal_nan,
        )
    if md_path is not None:
        atomic_write_bytes(md_path, matrix_markdown(m).encode())
    if args.json:
        print(json.dumps([r.to_json_dict() for r in m.reports], indent=2, default=str))
    else:
        out = _out()
        out.print(
            "Where the control value lives vs. whether the branch survives export "
            f"({'full-size' if m.full_size else 'small'} seed model, computed now):"
        )
        for table in matrix_tables(m):
            out.print(table)
    return EXIT_OK


WORKER_COMMANDS = frozenset({"export", "validate", "diff", "check", "matrix", "report"})
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
        "compare": lambda: _compare(args),
        "audit": lambda: _audit(args),
        "validate": lambda: cmd_validate(args, cancel),
        "diff": lambda: cmd_diff(args, cancel),
        "check": lambda: cmd_check(args, cancel),
        "matrix": lambda: cmd_matrix(args, cancel),
        "report": lambda: cmd_report(args, cancel),
    }
    if args.command is None:
        return _launch_app(parser, args.open, args.timeout or None)
    if getattr(args, "reproducible", False):
        os.environ["CFEXPLORE_REPRODUCIBLE"] = "1"  # the worker process inherits it
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
