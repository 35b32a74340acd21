"""Number and knob-value formatting shared by the CLI tables, reports and the app.

Kept free of heavy imports: the app's first screen uses it before anything else loads.
"""

from __future__ import annotations

from typing import Any


def fmt_num(x: float | None) -> str:
    """Compact float: `0`, `3.1e-07`, `12.5`; `-` when missing."""
    if x is None:
        return "-"
    if x == 0:
        return "0"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


def fmt_value(v: Any) -> str:
    """A knob value as typed on the command line: `true`/`false` for bools."""
    return str(v).lower() if isinstance(v, bool) else str(v)
