"""The commands on PyTorch models: `variants`, `export`, `diff`, `check`, `report`, `matrix`."""

from __future__ import annotations

import argparse
import json
import sys
import threading

from cfexplore.cli.common import (
    export_for_run,
    open_session,
    output_path,
    progress_for,
    settings_from_args,
    stdout_console,
)
from cfexplore.cli.file_cmds import cmd_diff_file, is_onnx_file
from cfexplore.errors import EXIT_FINDINGS, EXIT_OK, CfxError
from cfexplore.results import EXPORTERS
from cfexplore.termtext import safe_text


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

    stdout_console().print(variants_table(chosen))
    if not args.all:
        print("(add --all for the full-size seed-* variants)")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.graph.save import save_onnx
    from cfexplore.outpath import DATA_SUFFIX_BYTES
    from cfexplore.render.report import export_summary

    settings = settings_from_args(args)
    out_path = output_path(args.output, extra_suffix=DATA_SUFFIX_BYTES * args.external_data)
    with progress_for(True) as progress, open_session(args, progress, cancel) as session:
        result = session.export(args.exporter, settings, progress, cancel)
        saved = None
        if result.ok and out_path is not None and result.onnx_path:
            save_onnx(result.onnx_path, out_path, external_data=args.external_data)
            saved = str(out_path)
    if args.json:
        data = result.to_dict()
        data["onnx_path"] = saved
        print(json.dumps(data, indent=2, default=str))
    else:
        stdout_console().print(export_summary(result, saved))
        if not result.ok:
            if args.details:
                print(safe_text(result.error_details, multiline=True), file=sys.stderr)
            else:
                print("(add --details for the full error)", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def cmd_diff(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.render.report import diff_table, stats_lines
    from cfexplore.target.targets import parse_assignments

    if is_onnx_file(args.target):
        return cmd_diff_file(args, cancel)
    if args.dim:
        raise CfxError("--dim applies to an .onnx file; for a model give --input NAME=SHAPE")
    if not args.exporter:
        raise CfxError("diff: --exporter is required for a model (script, trace or dynamo)")
    if getattr(args, "load_outputs", None):
        raise CfxError(
            "--load-outputs applies to an .onnx file: export it (cfexplore export ... -o "
            "m.onnx), then cfexplore diff m.onnx --load-outputs FILE"
        )
    settings = settings_from_args(args)
    run = {**(settings.values or {}), **parse_assignments(args.run, "--run")}
    with progress_for(True) as progress, open_session(args, progress, cancel) as session:
        at = export_for_run(session, args, settings, run, progress, cancel)
        result = session.diff(args.exporter, at, cancel)
    if args.json:
        data = result.to_dict()
        data["max_abs"] = result.max_abs
        print(json.dumps(data, indent=2, default=str))
    else:
        out = stdout_console()
        out.print(diff_table(result))
        for line in stats_lines(result.outputs):
            out.print(line)
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

    settings = settings_from_args(args)
    exporters = EXPORTERS if args.exporter == "all" else (args.exporter,)
    with progress_for(True) as progress, open_session(args, progress, cancel) as session:
        report = session.check(exporters, settings, progress, cancel)
    if args.json:
        print(json.dumps(report.to_json_dict(), indent=2, default=str))
    else:
        stdout_console().print(check_table(report))
        print(f"reproduce: {safe_text(report.command)}")
    return EXIT_FINDINGS if report.bad else EXIT_OK


def cmd_report(args: argparse.Namespace, cancel: threading.Event) -> int:
    from cfexplore.fileio import atomic_write_bytes
    from cfexplore.render.reportdoc import build_report, report_markdown

    settings = settings_from_args(args)
    out_path = output_path(args.output)
    exporters = EXPORTERS if args.exporter == "all" else (args.exporter,)
    with progress_for(True) as progress, open_session(args, progress, cancel) as session:
        rep = build_report(session, exporters, settings, progress, cancel)
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

    settings = settings_from_args(args)
    exporters = EXPORTERS if args.exporter == "all" else (args.exporter,)
    md_path = output_path(args.markdown, "--markdown")
    with progress_for(True) as progress:
        m = matrix(exporters, args.full_size, settings, progress, cancel)
    if md_path is not None:
        atomic_write_bytes(md_path, matrix_markdown(m).encode())
    if args.json:
        print(json.dumps([r.to_json_dict() for r in m.reports], indent=2, default=str))
    else:
        out = stdout_console()
        out.print(
            "Where the control value lives vs. whether the branch survives export "
            f"({'full-size' if m.full_size else 'small'} seed model, computed now):"
        )
        for table in matrix_tables(m):
            out.print(table)
    return EXIT_OK
