"""The compare drawn for the terminal: both models' totals, then the A | B | verdict table."""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cfexplore.analysis.compare import CompareReport, ModelCounts
from cfexplore.analysis.compare_ops import ops_text
from cfexplore.graph.values import CONTROL_FLOW_OPS
from cfexplore.termtext import safe_text

_KIND_STYLE: dict[str, str] = {
    "same": "green",
    "folded": "bold yellow",
    "unrolled": "bold yellow",
    "only-in-a": "bold red",
    "only-in-b": "bold red",
}


def _counts_line(c: ModelCounts) -> Text:
    cf = " · ".join(
        f"{op} {c.control_flow.get(op, 0)}"
        for op in CONTROL_FLOW_OPS
        if op != "SequenceMap" or c.control_flow.get(op, 0)
    )
    return Text(f"{c.nodes:,} nodes in the main graph, {c.total_nodes:,} in all · {cf}")


def render_compare(report: CompareReport) -> RenderableType:
    """Header lines (both models, main-graph op difference) and the A | B | verdict table."""
    header = Text()
    for side, c in (("A", report.counts_a), ("B", report.counts_b)):
        header.append(f"{side} ", style="bold")
        header.append(c.label, style="bold")
        header.append("  ")
        header.append_text(_counts_line(c))
        header.append("\n")
    diff = report.op_diff
    if diff.only_a or diff.only_b:
        header.append("main graph: ", style="dim")
        header.append(f"only in A {ops_text(Counter(diff.only_a)) or '—'}")
        header.append(" · ")
        header.append(f"only in B {ops_text(Counter(diff.only_b)) or '—'}")
    else:
        header.append("main graph: same op counts", style="dim")
    if not report.rows:
        return Group(header, Text("no control flow in either model", style="dim"))
    table = Table(show_lines=False, expand=False)
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("note", overflow="fold")
    for r in report.rows:
        indent = "  " * r.depth
        cells = [
            Text(indent + safe_text(n.label(), 120))
            if n is not None
            else Text(indent + "—", style="dim")
            for n in (r.a_node, r.b_node)
        ]
        table.add_row(*cells, Text(r.kind, style=_KIND_STYLE[r.kind]), Text(safe_text(r.message)))
    summary = " · ".join(f"{k} {n}" for k, n in report.summary.items() if n)
    return Group(header, table, Text(summary, style="dim"))
