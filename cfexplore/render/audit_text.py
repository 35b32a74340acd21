"""The structural audit drawn for the terminal: a table of flags and the summary line."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cfexplore.analysis.audit import AuditReport, summary_text
from cfexplore.termtext import safe_text

_KIND_STYLES: dict[str, str] = {
    "constant-if": "bold yellow",
    "constant-loop": "bold yellow",
    "unrolled-loop": "bold cyan",
}


def render_audit(report: AuditReport) -> RenderableType:
    """A table of flags (kind, node, where, message) and a summary line, for the CLI."""
    summary = Text(summary_text(report), style="bold" if report.flags else "dim")
    if not report.flags:
        return summary
    table = Table(show_edge=False, header_style="bold", expand=False)
    table.add_column("kind", no_wrap=True)
    table.add_column("node", overflow="fold")
    table.add_column("where", overflow="fold")
    table.add_column("message", ratio=1)
    for f in report.flags:
        table.add_row(
            Text(f.kind, style=_KIND_STYLES.get(f.kind, "")),
            Text.assemble(
                (safe_text(f.op_type, 40), "bold"), " ", (safe_text(f.node_name, 80), "dim")
            ),
            Text(safe_text(f.path_str)),
            Text(safe_text(f.message)),
        )
    return Group(table, summary)
