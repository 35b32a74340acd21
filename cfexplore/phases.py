"""The phases a worker run announces, and what a time limit's message says about them.

The worker sends a progress line before each side of a diff runs (`PHASE_*`, prefixed with
`knob=value: ` inside a sweep). When a call outlives `--timeout`, the client kills the
worker; the last phase it heard says which side never finished and at which knob value.
"""

from __future__ import annotations

from dataclasses import dataclass

PHASE_TORCH = "PyTorch"
PHASE_ORT = "ONNX Runtime"
PHASE_REFERENCE = "the reference evaluator"
_PHASES = (PHASE_TORCH, PHASE_ORT, PHASE_REFERENCE)


@dataclass(frozen=True)
class Stalled:
    """Where a timed-out run was: the side running (a `PHASE_*`, or "") and the knob
    assignment a sweep was at (`n_loops=100000000`, or "")."""

    side: str
    at: str

    @property
    def torch_side(self) -> bool:
        return self.side == PHASE_TORCH

    def message(self, seconds: float | None) -> str:
        """`PyTorch did not finish within 20 s at n_loops=100000000 (the worker was stopped)`."""
        who = self.side or "the run"
        where = f" at {self.at}" if self.at else ""
        limit = f"within {seconds:g} s" if seconds else "in time"
        return f"timed out: {who} did not finish {limit}{where} (the worker was stopped)"


def stalled(last_progress: str) -> Stalled:
    """Parse the last progress line of a timed-out call."""
    at, _, side = last_progress.rpartition(": ")
    if side not in _PHASES:
        return Stalled("", "")
    return Stalled(side, at)
