"""`locate`'s answer as text: the first diverging node, and the last value that agreed."""

from __future__ import annotations

from cfexplore.divergence import Divergence, ValuePoint
from cfexplore.fmt import fmt_value
from cfexplore.termtext import safe_text


def module_label(name: str, cls: str) -> str:
    """`step.lin (Linear)`, or `(root) Net` for the model itself."""
    shown = name or "(root)"
    return f"{shown} {cls}" if not name and cls else f"{shown} ({cls})" if cls else shown


def point_line(point: ValuePoint) -> str:
    """`Mul /Mul at 1 · value /Mul_output_0 · input of body (SeedBody)`."""
    where = f"{point.op_type} {point.node_name}".strip()
    it = f" · iteration {'.'.join(map(str, point.iteration))}" if point.iteration else ""
    at = module_label(point.compared_at, point.compared_class)
    return safe_text(
        f"{where} at {point.path}{it} · value {point.value} · {point.boundary} of {at}"
    )


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def locate_text(found: Divergence) -> str:
    """Several short lines; the reproduce command last."""
    run = ", ".join(f"{k}={fmt_value(v)}" for k, v in found.knob_values.items())
    head = f"{safe_text(found.target)} · {found.exporter} · seed {found.seed}"
    lines = [head + (f" · {safe_text(run)}" if run else "")]
    if found.first is None:
        verdict = "no divergence" if found.checked else "nothing to compare"
        lines.append(f"{verdict}: {found.checked} values agree with PyTorch")
    else:
        f = found.first
        lines.append(f"first diverging node: {point_line(f)}")
        lines.append(f"  max abs {_num(f.max_abs)} · max rel {_num(f.max_rel)}")
        lines.append(f"  made in module {safe_text(module_label(f.module, f.module_class))}")
        if f.source:
            lines.append(f"  source {safe_text(f.source)}")
        if f.note:
            lines.append(f"  {safe_text(f.note)}")
        last = found.last_agreeing
        lines.append(f"last agreeing: {point_line(last)}" if last else "last agreeing: none")
        lines.append(f"{found.checked} values compared")
    if found.unmapped:
        lines.append(f"{found.unmapped} module boundaries had no ONNX value to compare")
    if found.note:
        lines.append(safe_text(found.note))
    if found.command:
        lines.append(f"reproduce: {safe_text(found.command)}")
    return "\n".join(lines)
