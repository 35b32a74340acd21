"""Op Counters as the compare shows them: sorted JSON dicts, `Add×3, Mul` text, branch keys."""

from __future__ import annotations

from collections import Counter

_MAX_OPS_SHOWN = 4


def short_key(key: str) -> str:
    """`then_branch` -> `then` (other keys, e.g. `body`, unchanged)."""
    return key.removesuffix("_branch")


def sorted_counts(c: Counter[str] | dict[str, int]) -> dict[str, int]:
    """The positive counts, sorted by op: the JSON form of an op Counter."""
    return {k: v for k, v in sorted(c.items()) if v > 0}


def ops_text(c: Counter[str]) -> str:
    """`Add×3, Mul` — most frequent first, at most a few op types."""
    items = sorted(((op, n) for op, n in c.items() if n > 0), key=lambda t: (-t[1], t[0]))
    parts = [op if n == 1 else f"{op}×{n}" for op, n in items[:_MAX_OPS_SHOWN]]
    if len(items) > _MAX_OPS_SHOWN:
        parts.append(f"+{len(items) - _MAX_OPS_SHOWN} more")
    return ", ".join(parts)
