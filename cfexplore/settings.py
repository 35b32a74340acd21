"""`RunSettings`: everything that decides one comparison, passed whole.

Opset, seed, tolerances, the NaN rule, whether the reference evaluator runs, ONNX
Runtime's session options and the knob values travel together from the CLI or the app
through the engine to the worker, so no layer re-orders positional arguments and a new
setting is one field here. The time limit is not one of them: it belongs to the session
(`Session.timeout`), since it bounds loads and reloads too, which compare nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cfexplore.results import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, DEFAULT_SEED

CHECK_MODES = ("allclose", "polygraphy")
"""How an element passes: `allclose` |got - ref| <= atol + rtol*|ref| (the default);
`polygraphy` Polygraphy's elemwise rule, failing only outside both tolerances."""


@dataclass(frozen=True)
class DataFiles:
    """`--save-inputs/--load-inputs/--save-outputs/--load-outputs` (absolute paths, `.json`
    in Polygraphy's format or `.npz`); only a diff reads or writes them, never a sweep."""

    save_inputs: str | None = None
    load_inputs: str | None = None
    save_outputs: str | None = None
    load_outputs: str | None = None


@dataclass(frozen=True)
class RunSettings:
    """How to export and compare: the same object for a diff, a sweep and a file run."""

    opset: int = DEFAULT_OPSET
    seed: int = DEFAULT_SEED
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    equal_nan: bool = False
    """NaN equals NaN (allclose mode only: Polygraphy's rule fails every NaN)."""
    check_mode: str = "allclose"
    """One of CHECK_MODES."""
    output_rtol: dict[str, float] | None = field(default=None, hash=False)
    """Per-output rtol by output name (`--rtol NAME=R`); others use `rtol`."""
    output_atol: dict[str, float] | None = field(default=None, hash=False)
    """Per-output atol by output name (`--atol NAME=A`); others use `atol`."""
    reference: bool | None = None
    """Run onnx's reference evaluator too: None = for models up to its size limit."""
    reproducible: bool = False
    """Single-threaded, sequential ONNX Runtime sessions (bit-identical reruns)."""
    values: dict[str, Any] | None = field(default=None, hash=False)
    """Knob values for the export and the run (None: the target's defaults)."""
    files: DataFiles = field(default_factory=DataFiles)
    """Input/output files a diff saves or loads."""

    def extra_flags(self) -> list[str]:
        """The command-line flags of the per-output tolerances, a non-default check mode
        and `--equal-nan` (for the reproduce command)."""
        flags = [f"--rtol={n}={v:g}" for n, v in (self.output_rtol or {}).items()]
        flags += [f"--atol={n}={v:g}" for n, v in (self.output_atol or {}).items()]
        if self.check_mode != "allclose":
            flags += ["--check-mode", self.check_mode]
        return flags + (["--equal-nan"] if self.equal_nan else [])

    def with_values(self, values: dict[str, Any] | None) -> RunSettings:
        """The same settings at other knob values."""
        return replace(self, values=values)

    def with_seed(self, seed: int) -> RunSettings:
        """The same settings with another seed."""
        return replace(self, seed=seed)
