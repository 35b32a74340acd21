"""Shared pieces: result rows, timing, peak RSS of processes, and the results table."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The repository root (so `python -m benchmarks.x` works from any folder)."""


@dataclass
class Row:
    """One measured item: cfexplore against its floor (or against an absolute target)."""

    item: str
    unit: str
    """`s`, `ms` or `MiB`: the unit of `cfx` and `floor`."""
    cfx: float | None
    floor: float | None
    target: float
    """Ratio cfx/floor allowed; with `absolute`, the largest allowed cfx value."""
    absolute: bool = False
    cfx_rss_mib: float | None = None
    floor_rss_mib: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.absolute or self.cfx is None or not self.floor:
            return None
        return self.cfx / self.floor

    @property
    def met(self) -> bool | None:
        if self.cfx is None:
            return None
        if self.absolute:
            return self.cfx < self.target
        ratio = self.ratio
        return None if ratio is None else ratio <= self.target

    @property
    def gap(self) -> float | None:
        """How far over the target cfx is, in `unit` (0 when met)."""
        if self.cfx is None:
            return None
        limit = self.target if self.absolute else (self.target * (self.floor or 0.0))
        return max(0.0, self.cfx - limit)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(ratio=self.ratio, met=self.met, gap=self.gap)
        return out


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall seconds of `repeats` calls of `fn`, and all the samples."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def percentile(values: list[float], pct: float) -> float:
    """The `pct` percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def vm_hwm_mib(pid: int | str = "self") -> float | None:
    """Peak resident set size (VmHWM) of a live process, in MiB."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def spawn_rss(argv: list[str], timeout: float = 600, **kw: Any) -> tuple[int, bytes, float, float]:
    """Run `argv`; return (exit code, stdout, wall seconds, peak RSS MiB of that process).

    Uses `os.wait4`, which gives the rusage of exactly this child.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=kw.get("cwd", REPO),
        env=kw.get("env"),
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, wall, usage.ru_maxrss / 1024


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    import importlib.metadata as md

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for pkg in ("torch", "onnx", "onnxruntime", "onnxscript", "textual", "rich", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "versions": versions,
    }


def fmt_value(value: float | None, unit: str) -> str:
    """A time or size in its unit, short."""
    if value is None:
        return "-"
    if unit == "s":
        ms = value * 1000
        if ms < 10:
            return f"{ms:.2f} ms"
        return f"{ms:.0f} ms" if ms < 1000 else f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:.0f} {unit}"


def render_table(rows: list[Row], width: int = 200) -> str:
    """The results as a text table (rich), plus the notes under it."""
    import io

    from rich.console import Console
    from rich.table import Table

    table = Table(title="cfexplore benchmarks", show_lines=False)
    for col in ("item", "cfexplore", "floor", "ratio", "target", "met? / gap", "RSS cfx/floor"):
        table.add_column(col, overflow="fold")
    for r in rows:
        if r.error:
            table.add_row(r.item, "error", "-", "-", "-", r.error[:60], "-")
            continue
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        target = f"< {fmt_value(r.target, r.unit)}" if r.absolute else f"<= {r.target:g}x"
        met = r.met
        gap = r.gap or 0.0
        verdict = "-" if met is None else ("yes" if met else f"NO +{fmt_value(gap, r.unit)}")
        rss = "/".join(fmt_value(v, "MiB") for v in (r.cfx_rss_mib, r.floor_rss_mib))
        table.add_row(
            r.item,
            fmt_value(r.cfx, r.unit),
            fmt_value(r.floor, r.unit),
            ratio,
            target,
            verdict,
            rss,
        )
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, legacy_windows=False)
    console.print(table)
    for r in rows:
        if r.note:
            console.print(f"- {r.item}: {r.note}", soft_wrap=True)
    return buf.getvalue()
