"""Render core results as rich tables (CLI) and Markdown (reports, the Matrix screen)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from cfexplore.engine.session import COLUMNS, MatrixReport
from cfexplore.fmt import fmt_num, fmt_value
from cfexplore.results import CheckReport, DiffResult, ExportResult, FileRunResult, TensorDiff
from cfexplore.spec import VariantSpec
from cfexplore.termtext import safe_text

VERDICT_STYLE = {
    "preserved": "bold green",
    "frozen": "bold yellow",
    "no-effect": "cyan",
    "mismatch": "bold red",
    "failed": "bold red",
}
COLUMN_TITLE = {
    "class-attr": "class attr",
    "instance-attr": "instance attr",
    "forward-arg": "forward arg",
    "tensor-data": "tensor data",
}


def verdict_text(verdict: str) -> Text:
    return Text(verdict, style=VERDICT_STYLE.get(verdict, ""))


def variants_table(variants: list[VariantSpec]) -> Table:
    table = Table(title="Built-in variants", title_justify="left", expand=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("construct · where", no_wrap=True)
    table.add_column("knobs {sweep values}")
    table.add_column("description", ratio=1)
    for v in variants:
        knobs = "\n".join(
            f"{k.name} {{{', '.join(fmt_value(x) for x in k.values)}}}" for k in v.knobs
        )
        table.add_row(
            Text(v.name),
            f"{v.construct} · {COLUMN_TITLE.get(v.where, v.where)}",
            Text(knobs),
            Text(v.description),
        )
    return table


def export_summary(result: ExportResult, saved: str | None = None) -> Group:
    lines: list[Text] = []
    if result.ok:
        cf = " · ".join(f"{k} {v}" for k, v in result.control_flow.items())
        lines.append(
            Text.assemble(
                ("ok ", "bold green"),
                f"{result.exporter} export, opset {result.opset}, ",
                f"{result.seconds:.2f}s, {result.size_bytes / 1024:.1f} KiB, ",
                (cf, "bold"),
            )
        )
        lines.append(Text(f"ONNX inputs: {safe_text(', '.join(result.onnx_inputs)) or '(none)'}"))
        if saved:
            lines.append(Text(f"saved to {safe_text(saved)}"))
    else:
        lines.append(
            Text.assemble(
                ("failed ", "bold red"),
                f"{result.exporter} export: ",
                Text(safe_text(result.error or "")),
            )
        )
    for w in result.warnings:
        lines.append(Text(f"warning: {safe_text(w)}", style="dim"))
    return Group(*lines)


DIFF_COLUMNS = ("output", "result", "ORT Δ", "ref Δ", "ORT↔ref", "rel Δ", "outside", "type")
"""Columns of a diff table: max |ONNX Runtime - PyTorch|, max |reference - PyTorch|, max
|ONNX Runtime - reference| (the onnx reference evaluator is the third backend), max
relative diff, elements outside tolerance, and the output type (PyTorch; ≠ ONNX if not)."""


def _type(o: TensorDiff) -> str:
    torch_t = f"{o.torch_dtype}{o.torch_shape}"
    onnx_t = f"{o.onnx_dtype}{o.onnx_shape}"
    return torch_t if torch_t == onnx_t else f"{torch_t} ≠ onnx {onnx_t}"


def diff_row(
    o: TensorDiff, ref: TensorDiff | None = None, ort_ref: TensorDiff | None = None
) -> tuple[Text | str, ...]:
    """One output's cells (DIFF_COLUMNS); `ref`/`ort_ref` come from the reference evaluator."""
    result = (
        Text("pass", style="bold green")
        if o.passed
        else Text("FAIL" + (f" ({o.note})" if o.note else ""), style="bold red")
    )

    def cell(d: TensorDiff | None) -> Text:
        if d is None:
            return Text("-", "dim")
        return Text(fmt_num(d.max_abs), "" if d.passed else "red")

    return (
        Text(o.name),
        result,
        cell(o),
        cell(ref),
        cell(ort_ref),
        fmt_num(o.max_rel),
        f"{o.mismatches}/{o.total}",
        _type(o),
    )


def diff_rows(result: DiffResult) -> list[tuple[Text | str, ...]]:
    """diff_row for every output, with the reference columns when they ran."""
    rows = []
    for i, o in enumerate(result.outputs):
        ref = result.reference[i] if i < len(result.reference) else None
        ovr = result.ort_vs_reference[i] if i < len(result.ort_vs_reference) else None
        rows.append(diff_row(o, ref, ovr))
    return rows


PROBLEM_TEXT = {
    "export": "export problem: PyTorch differs from both ONNX Runtime and the reference",
    "runtime": "runtime problem: ONNX Runtime and the reference evaluator disagree",
}


def diff_table(result: DiffResult) -> Table:
    knobs = ", ".join(f"{k}={fmt_value(v)}" for k, v in result.knob_values.items())
    title = (
        f"{result.target} · {result.exporter} · seed {result.seed} · rtol {result.rtol:g} "
        f"atol {result.atol:g}" + (f" · {knobs}" if knobs else "")
    )
    table = Table(title=safe_text(title), title_justify="left")
    columns = DIFF_COLUMNS if result.outputs else ("side", "error")  # nothing to compare
    for col in columns:
        table.add_column(col, justify="left" if col in ("output", "type", "result") else "right")
    if not result.outputs:
        table.columns[1].justify = "left"
    for row in diff_rows(result):
        table.add_row(*row)
    blank = [""] * (len(columns) - 2)
    if result.torch_error:
        table.add_row("PyTorch", Text(safe_text(result.torch_error), style="red"), *blank)
    if result.onnx_error:
        table.add_row("ONNX Runtime", Text(safe_text(result.onnx_error), style="red"), *blank)
    if result.reference_error:
        table.add_row("reference", Text(safe_text(result.reference_error), style="red"), *blank)
    if result.problem:
        table.caption = PROBLEM_TEXT[result.problem]
    elif not result.reference_used and result.outputs:
        table.caption = "reference evaluator not run (model over the auto size limit)"
    return table


def stats_lines(outputs: list[TensorDiff]) -> list[Text]:
    """Two dim lines (at most 80 columns) per failing output with statistics: mean, median
    and p99 of |Δ| and of the relative error, and the smallest atol that would pass it at
    its rtol under the check mode (`none passes`: NaN against a number, an infinity...)."""
    lines: list[Text] = []
    for o in outputs:
        st = o.stats
        if o.passed or st is None:
            continue
        need = fmt_num(st.min_atol) if st.min_atol is not None else "none passes"
        rtol = f" at rtol {o.rtol:g}" if o.rtol is not None else ""
        abs_part = f"mean {fmt_num(st.mean_abs)} median {fmt_num(st.median_abs)} p99 "
        rel_part = f"mean {fmt_num(st.mean_rel)} median {fmt_num(st.median_rel)} p99 "
        lines.append(Text(f"{safe_text(o.name, 24)}: abs {abs_part}{fmt_num(st.p99_abs)}", "dim"))
        lines.append(Text(f"  rel {rel_part}{fmt_num(st.p99_rel)} · min atol{rtol}: {need}", "dim"))
    return lines


FILE_COLUMNS = ("output", "result", "max abs", "max rel", "mismatch", "type")
"""Columns of a lone .onnx file run: ONNX Runtime against the reference evaluator."""


def _against(result: FileRunResult) -> str:
    """What ORT was compared with: the reference evaluator or saved outputs."""
    loaded = (result.reference_error or "").endswith("(--load-outputs)")
    return "saved outputs" if loaded else "reference"


def file_run_table(result: FileRunResult) -> Group:
    """ORT vs the reference evaluator per output, then the feeds and the free dims."""
    table = Table(
        title=f"{safe_text(result.path, 120)} · ONNX Runtime vs {_against(result)} "
        f"· seed {result.seed} "
        f"· rtol {result.rtol:g} atol {result.atol:g}",
        title_justify="left",
    )
    for col in FILE_COLUMNS:
        table.add_column(col, justify="left" if col in ("output", "type", "result") else "right")
    for o in result.outputs:
        row = diff_row(o)
        table.add_row(row[0], row[1], row[2], row[5], row[6], _type(o).replace("onnx ", "ORT "))
    if not result.outputs:
        for name, shape in zip(result.names, result.ort_shapes, strict=False):
            table.add_row(safe_text(name, 80), Text("ran", "dim"), "-", "-", "-", shape)
    blank = [""] * (len(FILE_COLUMNS) - 2)
    if result.ort_error:
        table.add_row("ONNX Runtime", Text(safe_text(result.ort_error), style="red"), *blank)
    if result.reference_error:
        style = "dim" if result.reference_error.startswith("not run") else "red"
        table.add_row("reference", Text(safe_text(result.reference_error), style=style), *blank)
    lines: list[Any] = [table]
    if result.inputs:
        lines.append(Text("inputs: " + safe_text("; ".join(result.inputs)), "dim"))
    if result.free_dims:
        lines.append(
            Text(
                "free dims fed as 1: "
                + safe_text(", ".join(result.free_dims))
                + " (set them with --dim SYMBOL=N, or a shape with --input NAME=SHAPE)",
                "yellow",
            )
        )
    return Group(*lines)


def trace_lines(trace: dict[str, Any]) -> list[Text]:
    """`1  Loop /Loop  trip 0..3` per traced node, an untested branch in yellow."""
    out = []
    for path, node in trace.items():
        style = "yellow" if node.untested else ""
        out.append(
            Text.assemble(
                (f"  {path:<12}", "dim"), f"{node.op} {node.name}  ", (node.summary(), style)
            )
        )
    return out


def check_table(report: CheckReport) -> Group:
    """The verdict table (knob x exporter), then one explanation line per row."""
    table = Table(
        title=f"{safe_text(report.target)}: survival verdicts "
        f"(seed {report.seed}, opset {report.opset})",
        title_justify="left",
    )
    table.add_column("knob", style="bold", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("exporter", no_wrap=True)
    table.add_column("If/Loop", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("max abs", justify="right", no_wrap=True)
    notes: list[Text] = []
    for res in report.results:
        cf = (
            f"{res.control_flow.get('If', 0)}/{res.control_flow.get('Loop', 0)}"
            if (res.status == "ok")
            else "-"
        )
        for k in res.knobs:
            table.add_row(
                Text(k.name),
                COLUMN_TITLE.get(k.where, k.where),
                res.exporter,
                cf,
                verdict_text(k.verdict),
                fmt_num(k.max_abs_diff),
            )
            notes.append(
                Text.assemble(
                    (f"{res.exporter} · {k.name}: ", "bold"),
                    verdict_text(k.verdict),
                    " — ",
                    k.explanation,
                )
            )
        if not res.knobs:
            b = res.baseline
            verdict = "failed" if res.status == "failed" or b is None else b.verdict
            max_abs = b.max_abs_diff if b is not None else None
            table.add_row(
                "(no knobs)", "-", res.exporter, cf, verdict_text(verdict), fmt_num(max_abs)
            )
            why = res.error if res.status == "failed" else b.explanation if b else ""
            if why:
                notes.append(
                    Text.assemble(
                        (f"{res.exporter} · no knobs: ", "bold"), verdict_text(verdict), " — ", why
                    )
                )
    if report.no_knobs:
        notes.insert(0, Text(report.no_knobs, "yellow"))
    for res in report.results:
        if res.branch_trace:
            notes.append(
                Text(
                    f"branch trace under {res.exporter} (reference evaluator, "
                    "samples = sweep runs):",
                    "bold",
                )
            )
            notes.extend(trace_lines(res.branch_trace))
    return Group(table, *notes)


def _cell_text(cell: Any) -> Text:
    text = Text()
    for i, (variant, verdict, _why) in enumerate(cell.entries):
        if i:
            text.append(" / ")
        text.append(verdict, VERDICT_STYLE.get(verdict, ""))
        if len(cell.entries) > 1:
            text.append(" (Final)" if "final" in variant else " (plain)", "dim")
    return text or Text("-")


def matrix_tables(m: MatrixReport) -> list[Table]:
    """One table per exporter: rows If/Loop, columns where the control value lives."""
    tables = []
    for exporter in m.exporters:
        t = Table(title=f"{exporter}", title_justify="left")
        t.add_column("")
        for col in COLUMNS:
            t.add_column(COLUMN_TITLE[col])
        for construct in ("If", "Loop"):
            row = m.cells[exporter][construct]
            t.add_row(construct, *(_cell_text(row[c]) for c in COLUMNS))
        tables.append(t)
    return tables


def matrix_markdown(m: MatrixReport) -> str:
    """The same tables in Markdown, followed by each cell's explanation."""
    lines = [f"# Control-flow survival ({'full-size' if m.full_size else 'small'} seed model)", ""]
    for exporter in m.exporters:
        lines += [
            f"## {exporter}",
            "",
            "| | " + " | ".join(COLUMN_TITLE[c] for c in COLUMNS) + " |",
            "|---|" + "---|" * len(COLUMNS),
        ]
        for construct in ("If", "Loop"):
            row = m.cells[exporter][construct]
            lines.append(
                f"| {construct} | " + " | ".join(_cell_text(row[c]).plain for c in COLUMNS) + " |"
            )
        lines.append("")
        for construct in ("If", "Loop"):
            for col in COLUMNS:
                for variant, verdict, why in m.cells[exporter][construct][col].entries:
                    lines.append(f"- `{variant}` ({verdict}): {why}")
        lines.append("")
    if m.reports:
        v = m.reports[0].versions
        lines.append("Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
        lines.append("")
    return "\n".join(lines)
