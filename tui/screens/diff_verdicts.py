"""The Diff screen's verdict panel: what a sweep found for each knob, its branch trace, and
the command that reproduces it."""

from __future__ import annotations

from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from cfexplore.fmt import fmt_num
from cfexplore.render.report import VERDICT_STYLE, trace_lines
from cfexplore.results import CheckReport


def verdict_grid(report: CheckReport) -> Table:
    """A verdict line per knob (and the baseline) with its explanation under it, then the
    branch traces, what has no knob, and the reproduce command."""
    grid = Table.grid(padding=(0, 0, 0, 2))
    grid.add_column()
    for res in report.results:
        if not res.knobs and res.baseline is None:
            grid.add_row(Text(f"{res.exporter}: {res.error or 'no knobs to sweep'}", "dim"))
        for k in [*res.knobs, *([res.baseline] if res.baseline else [])]:
            grid.add_row(
                Text.assemble(
                    (k.name, "bold"),
                    f" ({res.exporter}) ",
                    (k.verdict, VERDICT_STYLE.get(k.verdict, "")),
                    (f"  max abs {fmt_num(k.max_abs_diff)}", "dim"),
                )
            )
            # the explanation wraps with a hanging indent under the verdict line
            grid.add_row(Padding(Text(k.explanation), (0, 0, 0, 2)))
    for res in report.results:
        if res.branch_trace:
            grid.add_row(Text(f"branch trace ({res.exporter}; also on the Graph screen):", "bold"))
            for line in trace_lines(res.branch_trace):
                grid.add_row(line)
    if report.no_knobs:
        grid.add_row(Text(report.no_knobs, "yellow"))
    grid.add_row(Text(f"reproduce: {report.command}", "dim"))
    return grid


def frozen_knobs(report: CheckReport) -> set[str]:
    """The knobs the sweep found frozen (the export kept one value)."""
    return {k.name for r in report.results for k in r.knobs if k.verdict == "frozen"}
