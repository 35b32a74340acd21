"""`cfexplore tree FILE` to a pipe against `onnx.load` + `onnx.printer.to_text`, one run.

`python -m benchmarks.tree_bench [MODEL] [--runs N] [--baseline SRC]` prints the ratio
(`MODEL` defaults to a freshly generated 100k-node model). `--baseline SRC` also times
`python -m cfexplore tree` from another source tree (e.g. `git archive main | tar -x -C
SRC`) in the same run, interleaved, so a before/after pair shares the machine's load.
Nothing is asserted: the numbers are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import spawn_rss

FLOOR_CODE = (
    "import onnx, sys; m = onnx.load(sys.argv[1]); sys.stdout.write(onnx.printer.to_text(m))"
)
"""The floor: the same model read and printed as text by onnx alone (C++)."""


@dataclass
class Timing:
    """Wall seconds of each run of one command, its output lines and peak RSS."""

    walls: list[float] = field(default_factory=list)
    lines: int = 0
    rss_mib: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def _run(argv: list[str], into: Timing, src: Path | None = None) -> None:
    """One run of `argv` into `into`; with `src`, cfexplore imported from that tree."""
    if src is None:
        rc, out, wall, rss = spawn_rss(argv)
    else:  # -m puts the working directory first on sys.path
        env = {**os.environ, "PYTHONPATH": str(src)}
        rc, out, wall, rss = spawn_rss(argv, env=env, cwd=src)
    if rc != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} … exited with {rc}")
    into.walls.append(wall)
    into.lines, into.rss_mib = out.count(b"\n"), max(into.rss_mib, rss)


def measure(model: Path, runs: int, baseline: Path | None = None) -> dict[str, Timing]:
    """Time, interleaved run by run: `cfexplore tree` (unlimited, and `--width 80`), the
    floor, and with `baseline` the same command from that source tree."""
    from benchmarks.first_screen import cfexplore_command

    tree = [*cfexplore_command(), "tree", str(model)]
    got = {name: Timing() for name in ("tree", "tree --width 80", "floor")}
    if baseline is not None:
        got["baseline tree"] = Timing()
    for _ in range(runs):
        _run(tree, got["tree"])
        _run([*tree, "--width", "80"], got["tree --width 80"])
        _run([sys.executable, "-c", FLOOR_CODE, str(model)], got["floor"])
        if baseline is not None:
            base = [sys.executable, "-m", "cfexplore", "tree", str(model.resolve())]
            _run(base, got["baseline tree"], baseline.resolve())
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tree_bench", description=__doc__)
    parser.add_argument("model", nargs="?", help="an .onnx file (default: the 100k model)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median)")
    parser.add_argument("--baseline", type=Path, help="another cfexplore source tree to time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cfx-tree-") as tmp:
        model = Path(args.model) if args.model else Path(tmp) / "bench_100k.onnx"
        if not args.model:
            from benchmarks.genmodel import write_model

            write_model(model, 1.0)
        got = measure(model, args.runs, args.baseline)
    floor = got["floor"].median
    print(f"{model.name}, median of {args.runs} runs each, interleaved")
    for name, t in got.items():
        runs = ", ".join(f"{w:.2f}" for w in t.walls)
        ratio = "" if name == "floor" else f"  {t.median / floor:.2f}x the floor"
        print(f"  {name:<16} {t.median:6.2f} s ({runs}; {t.lines:,} lines){ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
