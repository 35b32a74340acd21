"""The `cfexplore` argument parser: every command, its options and their checks."""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn

from cfexplore import __version__
from cfexplore.errors import EXIT_USAGE
from cfexplore.results import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, DEFAULT_SEED, EXPORTERS
from cfexplore.settings import CHECK_MODES

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


def _tolerance(text: str) -> tuple[str | None, float]:
    """`1e-3` (every output) or `NAME=1e-3` (that output): a finite number >= 0."""
    name, sep, value = text.rpartition("=")
    if sep and not name:
        raise argparse.ArgumentTypeError(f"no output name before '=': {text!r}")
    return (name if sep else None), _positive_float(value)


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
        type=_tolerance,
        action="append",
        metavar="[NAME=]R",
        help=f"relative tolerance (default {DEFAULT_RTOL:g}); NAME=R for one output (repeatable)",
    )
    p.add_argument(
        "--atol",
        type=_tolerance,
        action="append",
        metavar="[NAME=]A",
        help=f"absolute tolerance (default {DEFAULT_ATOL:g}); NAME=A for one output "
        "(repeatable); allclose: an element passes when |onnx - torch| <= atol + rtol*|torch|",
    )
    p.add_argument(
        "--check-mode",
        choices=CHECK_MODES,
        default="allclose",
        help="allclose (default): the rule above; polygraphy: Polygraphy's elemwise rule, an "
        "element fails only outside both atol and rtol, every NaN and Inf fails",
    )
    p.add_argument(
        "--equal-nan",
        action="store_true",
        help="count NaN in PyTorch and NaN in ONNX at the same place as equal (default: fail; "
        "allclose only)",
    )


def _data_file_args(p: argparse.ArgumentParser) -> None:
    """diff's input/output files: Polygraphy JSON (`.json`) or `.npz`."""
    for flag, what in (
        ("--save-inputs", "save the feeds used (Polygraphy --load-inputs JSON, or .npz)"),
        ("--load-inputs", "an .onnx file: feed these inputs (first feed dict) instead of seeded"),
        ("--save-outputs", "save ONNX Runtime's outputs (Polygraphy RunResults JSON, or .npz)"),
        ("--load-outputs", "an .onnx file: compare ONNX Runtime with these saved outputs "
         "instead of the reference evaluator"),
    ):  # fmt: skip
        p.add_argument(flag, metavar="FILE", help=what)


def _comparison_args(p: argparse.ArgumentParser) -> None:
    """The options of every command that compares PyTorch with ONNX: tolerances, the
    reference evaluator, reproducible sessions."""
    _tolerance_args(p)
    _reference_arg(p)
    _reproducible_arg(p)


def _run_arg(p: argparse.ArgumentParser, why: str) -> None:
    p.add_argument(
        "--run",
        action="append",
        metavar="KNOB=VALUE",
        help=f"knob value at run time only, after exporting with the --set values: {why} "
        "(repeatable)",
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
    p.add_argument(
        "--width",
        type=_count,
        default=None,
        metavar="N",
        help="fold each row to N columns, its tree guides repeated (default: the terminal's "
        "width; to a pipe or file rows are never folded; 0: never fold)",
    )

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
    _run_arg(p, "how a frozen knob shows")
    _comparison_args(p)
    _data_file_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "locate",
        help="the first ONNX node whose value differs from eager PyTorch (If/Loop bodies "
        "included, per iteration)",
    )
    _target_args(p)
    p.add_argument("--exporter", choices=EXPORTERS, required=True, help="the export to search")
    _run_arg(p, "where a frozen knob's graph goes wrong")
    _comparison_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("check", help="sweep every knob under each exporter: verdict table")
    _target_args(p)
    p.add_argument("--exporter", choices=[*EXPORTERS, "all"], default="all")
    _comparison_args(p)
    p.add_argument("--json", action="store_true", help="print the JSON document")

    p = sub.add_parser("report", help="write a Markdown (or JSON) report for one target")
    _target_args(p)
    p.add_argument("--exporter", choices=[*EXPORTERS, "all"], default="all")
    _comparison_args(p)
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
