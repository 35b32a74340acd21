"""`cfexplore report`: everything cfexplore knows about one target, as Markdown or JSON.

Verdict table (knob x exporter), the seed-style matrix of the target's knobs, control-flow
counts (before/after dynamo's optimize), audit flags, three-way diff metrics at the export
values with seed and tolerances, the branch trace, versions, and the one-line command that
reproduces each result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cfexplore.fmt import fmt_num, fmt_value
from cfexplore.render.report import COLUMN_TITLE
from cfexplore.results import EXPORTERS, CheckReport, DiffResult
from cfexplore.settings import RunSettings

Progress = Callable[[float | None, str], None]


@dataclass
class TargetReport:
    """The check, plus per exporter: the diff at the export values and the audit."""

    check: CheckReport
    diffs: dict[str, DiffResult] = field(default_factory=dict)
    audits: dict[str, Any] = field(default_factory=dict)
    """exporter -> cfexplore.analysis.audit.AuditReport of its ONNX file."""
    unoptimized: dict[str, dict[str, int]] = field(default_factory=dict)
    """dynamo: control-flow counts before ONNXProgram.optimize()."""

    def to_json_dict(self) -> dict[str, Any]:
        doc = self.check.to_json_dict()
        for res in doc["results"]:
            e = res["exporter"]
            d = self.diffs.get(e)
            res["diff"] = _diff_json(d) if d else None
            res["audit"] = self.audits[e].to_json_dict() if e in self.audits else None
            res["control_flow_before_optimize"] = self.unoptimized.get(e)
        doc["matrix"] = matrix_rows(self.check)
        return doc


def build_report(
    session: Any,
    exporters: Iterable[str] = EXPORTERS,
    settings: RunSettings | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> TargetReport:
    """Check the target at `settings` (None: `RunSettings()`), then diff and audit each
    successful export at the same settings."""
    import onnx

    from cfexplore.analysis.audit import audit_model

    settings = settings or RunSettings()
    check = session.check(exporters, settings, progress, cancel)
    rep = TargetReport(check)
    for res in check.results:
        exp = session.exports.get(res.exporter)
        if res.status != "ok" or exp is None or not exp.onnx_path:
            continue
        rep.diffs[res.exporter] = session.diff(res.exporter, settings, cancel)
        rep.audits[res.exporter] = audit_model(onnx.load(exp.onnx_path, load_external_data=False))
        if exp.unoptimized_control_flow is not None:
            rep.unoptimized[res.exporter] = exp.unoptimized_control_flow
    return rep


def _diff_json(d: DiffResult) -> dict[str, Any]:
    return {
        "seed": d.seed,
        "rtol": d.rtol,
        "atol": d.atol,
        "knob_values": d.knob_values,
        "passed": d.passed,
        "problem": d.problem,
        "reference_used": d.reference_used,
        "outputs": [
            {
                "name": o.name,
                "shape": o.torch_shape,
                "max_abs_ort": o.max_abs,
                "max_abs_reference": r.max_abs if r else None,
                "max_abs_ort_vs_reference": v.max_abs if v else None,
                "mismatches": o.mismatches,
                "total": o.total,
                "passed": o.passed,
            }
            for o, r, v in _zip3(d)
        ],
        "command": d.command,
    }


def _zip3(d: DiffResult) -> list[tuple[Any, Any, Any]]:
    out = []
    for i, o in enumerate(d.outputs):
        r = d.reference[i] if i < len(d.reference) else None
        v = d.ort_vs_reference[i] if i < len(d.ort_vs_reference) else None
        out.append((o, r, v))
    return out


def matrix_rows(check: CheckReport) -> list[dict[str, Any]]:
    """The seed-style matrix of this target: rows construct x exporter, columns placement."""
    rows = []
    for res in check.results:
        for construct in ("If", "Loop"):
            knobs = [k for k in res.knobs if k.construct == construct]
            if not knobs:
                continue
            cells: dict[str, str] = {}
            for k in knobs:
                key = COLUMN_TITLE.get(k.where, k.where)
                cells[key] = f"{cells[key]} / {k.verdict}" if key in cells else k.verdict
            rows.append({"construct": construct, "exporter": res.exporter, "cells": cells})
    return rows


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(rep: TargetReport) -> str:
    """The report as a Markdown document."""
    c = rep.check
    out = [
        f"# cfexplore report: `{c.target}`",
        "",
        f"Seed {c.seed} · rtol {c.rtol:g} · atol {c.atol:g} · opset {c.opset}. "
        f"Reproduce: `{c.command}`",
        "",
        "## Verdicts",
        "",
        "| knob | where | exporter | verdict | max abs | why |",
        "|---|---|---|---|---|---|",
    ]
    for res in c.results:
        for k in res.knobs:
            out.append(
                f"| `{k.name}` | {COLUMN_TITLE.get(k.where, k.where)} | {res.exporter} | "
                f"**{k.verdict}** | {fmt_num(k.max_abs_diff)} | {_md_escape(k.explanation)} |"
            )
        if not res.knobs:
            b = res.baseline
            verdict = b.verdict if b is not None and res.status == "ok" else res.status
            why = res.error or (b.explanation if b else "no knobs")
            out.append(f"| (no knobs) | - | {res.exporter} | {verdict} | - | {_md_escape(why)} |")
    if c.no_knobs:
        out += ["", f"_{_md_escape(c.no_knobs)}_"]
    rows = matrix_rows(c)
    if rows:
        cols = sorted(
            {col for r in rows for col in r["cells"]},
            key=lambda x: (
                list(COLUMN_TITLE.values()).index(x) if x in COLUMN_TITLE.values() else 99
            ),
        )
        out += [
            "",
            "## Matrix (seed style)",
            "",
            "| | " + " | ".join(cols) + " |",
            "|---|" + "---|" * len(cols),
        ]
        for r in rows:
            out.append(
                f"| {r['construct']} · {r['exporter']} | "
                + " | ".join(r["cells"].get(col, "-") for col in cols)
                + " |"
            )
    out += [
        "",
        "## Exports",
        "",
        "| exporter | status | If | Loop | Scan | before optimize | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for res in c.results:
        cf = res.control_flow
        before = rep.unoptimized.get(res.exporter)
        before_txt = " ".join(f"{k} {v}" for k, v in before.items()) if before else "-"
        out.append(
            f"| {res.exporter} | {res.status} | {cf.get('If', '-')} | {cf.get('Loop', '-')} | "
            f"{cf.get('Scan', '-')} | {before_txt} | {res.seconds:.2f} |"
        )
    for res in c.results:
        if res.status == "failed":
            out += ["", f"**{res.exporter} failed:** `{_md_escape(res.error or '')}`"]
    out += ["", "## Audit", ""]
    by_exporter = {r.exporter: r for r in c.results}
    any_flags = False
    for exporter, audit in rep.audits.items():
        for f in audit.flags:
            any_flags = True
            out.append(f"- {exporter}: **{f.kind}** at `{f.path_str}` — {_md_escape(f.message)}")
        before = rep.unoptimized.get(exporter)
        after = by_exporter[exporter].control_flow
        if before is not None and before != after:
            any_flags = True
            out.append(f"- {exporter}: optimize() changed the control flow: {before} -> {after}")
    if not any_flags:
        out.append("No structural findings.")
    out += [
        "",
        "## Diff at the export values (PyTorch vs ONNX Runtime vs reference)",
        "",
        "| exporter | output | shape | ORT | reference | ORT vs ref | outside | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for exporter, d in rep.diffs.items():
        for o, r, v in _zip3(d):
            out.append(
                f"| {exporter} | `{o.name}` | {o.torch_shape} | {fmt_num(o.max_abs)} | "
                f"{fmt_num(r.max_abs) if r else '-'} | {fmt_num(v.max_abs) if v else '-'} | "
                f"{o.mismatches}/{o.total} | {'pass' if o.passed else 'FAIL'} |"
            )
    for exporter, d in rep.diffs.items():
        out.append(
            f"\n{exporter}: `{d.command}`" + (f" — {d.problem} problem" if d.problem else "")
        )
    traces = [(r.exporter, r.branch_trace) for r in c.results if r.branch_trace]
    if traces:
        out += ["", "## Branch trace (samples = sweep runs, reference evaluator)", ""]
        for exporter, trace in traces:
            for path, node in trace.items():
                out.append(f"- {exporter}: {node.op} `{node.name}` at `{path}`: {node.summary()}")
    out += ["", "## Knob sweeps", ""]
    for res in c.results:
        for k in res.knobs:
            if not k.rows:
                continue
            vals = ", ".join(
                f"{fmt_value(row.value)}: {'pass' if row.passed else 'FAIL'}"
                f" ({fmt_num(row.max_abs)})"
                for row in k.rows
            )
            out.append(f"- {res.exporter} · `{k.name}`: {vals} — reproduce `{k.command}`")
    out += ["", "## Versions", "", ", ".join(f"{k} {v}" for k, v in c.versions.items()), ""]
    return "\n".join(out)
