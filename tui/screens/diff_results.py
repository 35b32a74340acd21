"""What the Diff screen shows of a finished run: the table's rows and the status line, for a
PyTorch vs ONNX Runtime diff (columns fitted to the terminal's width) and for an .onnx file
run alone (ONNX Runtime vs the reference evaluator)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from cfexplore.fmt import fmt_value
from cfexplore.render.report import DIFF_COLUMNS, PROBLEM_TEXT, diff_row, diff_rows
from cfexplore.results import DiffResult, ExportResult, FileRunResult
from cfexplore.termtext import safe_text

DROP_ORDER = ("type", "ORT↔ref", "ref Δ", "rel Δ")
"""Diff columns a narrow terminal leaves out first (output, result, ORT Δ, outside stay)."""

FILE_COLUMNS = ("output", "result", "ORT↔ref", "rel Δ", "outside", "type")
"""Columns for an .onnx file run alone: ONNX Runtime against the reference evaluator."""


def reset_table(table: DataTable[Any], columns: tuple[str, ...]) -> DataTable[Any]:
    """`table`, cleared, with `columns` (diff and file runs show different ones)."""
    if tuple(str(c.label) for c in table.columns.values()) != columns:
        table.clear(columns=True)
        table.add_columns(*columns)
    else:
        table.clear()
    return table


def fit_columns(width: int, rows: list[list[Any]]) -> tuple[list[int], list[int]]:
    """(indexes of the diff columns to show, each column's width with its padding):
    all columns when they fit `width`, else without the least needed (type, ORT↔ref,
    ref Δ, rel Δ), so no cell is ever cut."""
    need = [
        max([len(name), *(Text(str(r[i])).cell_len for r in rows)]) + 2
        for i, name in enumerate(DIFF_COLUMNS)
    ]
    keep = list(range(len(DIFF_COLUMNS)))
    for name in DROP_ORDER:
        if sum(need[i] for i in keep) <= width:
            break
        keep.remove(DIFF_COLUMNS.index(name))
    return keep, need


def fill_diff_table(table: DataTable[Any], result: DiffResult) -> list[str]:
    """One row per output, in the columns that fit the table's width; returns the diff
    columns left out."""
    rows = [list(row) for row in diff_rows(result)]
    keep, need = fit_columns(table.size.width, rows)
    columns = [(str(c.label), c.width) for c in table.columns.values()]
    wanted = [(DIFF_COLUMNS[i], need[i] - 2) for i in keep]
    if columns == wanted:  # the same columns (a next seed): new rows only, no relayout
        table.clear()
    else:
        table.clear(columns=True)
        for name, width in wanted:  # fixed widths fitted to these values
            table.add_column(name, width=width)
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return [DIFF_COLUMNS[i] for i in range(len(DIFF_COLUMNS)) if i not in keep]


def diff_status(r: DiffResult, exported: ExportResult | None, hidden: list[str]) -> Text:
    """PASS/FAIL, what ran and how long it took, a problem found, the knobs the export
    froze (`exported` is the export the diff ran), and the columns left out."""
    if r.torch_error or r.onnx_error:
        status = Text.assemble(("error ", "bold red"), r.torch_error or r.onnx_error or "")
    else:
        fed = ", ".join(r.onnx_fed) or "no knob"
        vals = ", ".join(f"{k}={fmt_value(v)}" for k, v in r.knob_values.items())
        torch_ms = "cached" if r.torch_ms == 0 else f"{r.torch_ms:.1f} ms"
        status = Text.assemble(
            ("PASS " if r.passed else "FAIL ", "bold green" if r.passed else "bold red"),
            f"{r.exporter} seed {r.seed}",
            (f" · {vals}" if vals else ""),
            (f" · ONNX takes {fed}", "dim"),
            (f" · torch {torch_ms}, ORT {r.onnx_ms:.1f} ms", "dim"),
        )
        if r.reference_used:
            status.append(f", reference {r.reference_ms:.1f} ms", "dim")
        if r.problem:
            status.append(f"  {PROBLEM_TEXT[r.problem]}", "bold yellow")
        moved = [
            k
            for k, v in r.knob_values.items()
            if exported is not None and exported.knob_values.get(k) != v and k not in r.onnx_fed
        ]
        if moved and not r.passed and exported is not None:
            status.append(
                f"  ← {', '.join(moved)} is not an ONNX input: the export froze it "
                f"at {', '.join(fmt_value(exported.knob_values[k]) for k in moved)}",
                "yellow",
            )
    if hidden:
        status.append(f"  (too narrow for {', '.join(hidden)})", "dim")
    return status


def fill_file_table(table: DataTable[Any], result: FileRunResult) -> None:
    """One row per output: ORT vs the reference, or ORT alone when the reference did not
    run, then a row per backend error."""
    for o in result.outputs:
        cells = diff_row(o)
        kind = f"{o.onnx_dtype}{o.onnx_shape}"
        table.add_row(cells[0], cells[1], cells[2], cells[5], cells[6], kind)
    if not result.outputs:
        for name, shape in zip(result.names, result.ort_shapes, strict=False):
            table.add_row(Text(safe_text(name, 80)), Text("ran", "green"), "-", "-", "-", shape)
    for who, _error in _errors(result):
        table.add_row(Text(who, "bold"), Text("failed (below)", "red"), "", "", "", "")


def _errors(result: FileRunResult) -> list[tuple[str, str]]:
    """(backend, error) for each backend that failed (a reference not run is no error)."""
    return [
        (who, error)
        for who, error in (
            ("ONNX Runtime", result.ort_error),
            ("reference", result.reference_error),
        )
        if error and not error.startswith("not run")
    ]


def file_status(result: FileRunResult) -> Text:
    """PASS/FAIL, timings, and what was fed as 1 (with the key that changes it)."""
    if result.plan_error:
        return Text.assemble(("inputs ", "bold red"), safe_text(result.plan_error), "  e edits")
    ok = result.passed and result.ort_error is None
    ort = "ORT failed" if result.ort_error else f"ORT {result.ort_ms:.1f} ms"
    status = Text.assemble(
        ("PASS " if ok else "FAIL ", "bold green" if ok else "bold red"),
        f"seed {result.seed} · {ort}",
    )
    if result.reference_error and result.reference_error.startswith("not run"):
        status.append(f" · reference {safe_text(result.reference_error, 80)}", "dim")
    elif not result.reference_error:
        status.append(f", reference {result.reference_ms:.1f} ms", "dim")
    if result.free_dims:
        status.append(
            f"  free dims fed as 1: {safe_text(', '.join(result.free_dims), 60)} — e edits",
            "yellow",
        )
    else:
        status.append("  e edits inputs", "dim")
    for who, error in _errors(result):
        status.append(f"\n{who}: ", "bold red")
        status.append(safe_text(error, 140))
    return status
