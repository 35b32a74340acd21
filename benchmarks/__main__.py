"""`python -m benchmarks [--quick] [--json FILE]`: cfexplore against its floors, one table.

Every item is measured in this one run and compared with the cheapest way to do the same
work without cfexplore (its floor). Nothing here asserts on time: a missed target is a row
that says so, and the exit code is 0 unless a measurement itself broke.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import Row, machine_info, render_table, spawn_rss

ITEMS = (
    "first screen (pty 80x24)",
    "open 100k-node model + expand 5k body",
    "cursor key in the 5k body",
    "cfexplore tree FILE",
    "Diff: seed change -> table",
    "Diff: seed change, engine only",
    "sweep of N knob values",
    "export (script)",
    "export (dynamo)",
    "peak RSS browsing 100k model",
    "UI heartbeat during a job",
    "variant switch -> loaded",
    "UI heartbeat: first visit of screens 2-5",
    "UI heartbeat: variant load and switch",
    "UI heartbeat: open the 100k-node model",
    "UI heartbeat: open 20,000 sibling Ifs",
)
"""Every row the table prints, in order (tests check them by name)."""


class Config:
    """Sizes and repeats: full, or `--quick` for a fast check run."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.scale = 0.1 if quick else 1.0
        self.screen_runs = 1 if quick else 5
        self.floor_runs = 2 if quick else 5
        self.browse_runs = 1 if quick else 3
        self.keys = 20 if quick else 100
        self.tree_runs = 1 if quick else 3
        self.diff_repeats = 2 if quick else 5
        self.heartbeat_s = 2.0 if quick else 6.0
        self.sweep_repeats = 2 if quick else 5
        self.export_repeats = 2 if quick else 7
        self.dynamo = not quick
        self.dynamo_repeats = 3
        self.switch_repeats = 2 if quick else 6


def _json_out(argv: list[str], what: str) -> tuple[dict[str, Any], float, float]:
    code, out, wall, rss = spawn_rss(argv)
    if code != 0:
        raise RuntimeError(f"{what} exited with {code}")
    return json.loads(out.decode().strip().splitlines()[-1]), wall, rss


def first_screen(cfg: Config) -> list[Row]:
    from benchmarks import first_screen as fs

    runs = [fs.measure() for _ in range(cfg.screen_runs)]
    floor, _ = fs.floor(cfg.floor_runs)
    torch_any = any(r.torch_loaded for r in runs)
    ort_any = any(r.onnxruntime_loaded for r in runs)
    note = (
        f"torch imported before the first screen: {'YES' if torch_any else 'no'}; "
        f"onnxruntime: {'YES' if ort_any else 'no'} (app's /proc/PID/maps); "
        f"runs {', '.join(f'{r.seconds * 1000:.0f}' for r in runs)} ms; "
        f"command {' '.join(fs.cfexplore_command())}"
    )
    return [
        Row(
            ITEMS[0],
            "s",
            statistics.median(r.seconds for r in runs),
            floor,
            3.0,
            cfx_rss_mib=max((r.peak_rss_mib or 0.0) for r in runs) or None,
            note=note,
            extra={"torch_loaded": torch_any, "onnxruntime_loaded": ort_any},
        )
    ]


def browse(cfg: Config, model: Path) -> list[Row]:
    argv = [sys.executable, "-m", "benchmarks.browse", str(model), "--scale", str(cfg.scale)]
    runs = [
        _json_out([*argv, "--keys", str(cfg.keys)], "browse")[0] for _ in range(cfg.browse_runs)
    ]
    floor, _, _ = _json_out([*argv, "--floor", "--repeats", "3"], "onnx.load floor")
    open_s = statistics.median((r["open_ms"] + r["expand_ms"]) / 1000 for r in runs)
    med = {k: statistics.median(r[k] for r in runs) for k in ("open_ms", "expand_ms")}
    keys = [k for r in runs for k in r["key_ms"]]
    mean_key = sum(keys) / len(keys)
    from benchmarks.common import percentile

    rss = statistics.median(r["peak_rss_mib"] for r in runs)
    wide = runs[0]["wide_children"]
    return [
        Row(
            ITEMS[1],
            "s",
            open_s,
            floor["load_ms"] / 1000,
            1.5,
            cfx_rss_mib=rss,
            floor_rss_mib=floor["peak_rss_mib"],
            note=(
                f"open -> tree visible {med['open_ms']:.0f} ms, first expand of the "
                f"{wide:,}-child then_branch {med['expand_ms']:.0f} ms "
                f"({runs[0]['rows_after_expand']} rows built); floor = onnx.load alone"
            ),
            extra={"runs": runs},
        ),
        Row(
            ITEMS[2],
            "ms",
            mean_key,
            None,
            50.0,
            absolute=True,
            note=(
                f"mean of {len(keys)} down keys; p99 {percentile(keys, 99):.0f} ms, "
                f"max {max(keys):.0f} ms (app work + one frame; Pilot's idle wait excluded)"
            ),
        ),
        Row(
            ITEMS[9],
            "MiB",
            rss,
            floor["peak_rss_mib"],
            2.0,
            note="VmHWM of a fresh app process that opened, expanded and walked the model, "
            "vs a fresh process that only onnx.load's it",
        ),
    ]


def tree_cli(cfg: Config, model: Path) -> list[Row]:
    from benchmarks.tree_bench import measure

    got = measure(model, max(cfg.tree_runs, 2))
    tree, folded, floor = got["tree"], got["tree --width 80"], got["floor"]
    return [
        Row(
            ITEMS[3],
            "s",
            tree.median,
            floor.median,
            1.5,
            cfx_rss_mib=tree.rss_mib,
            floor_rss_mib=floor.rss_mib,
            note=f"whole process, output to a pipe ({tree.lines:,} lines); folded with "
            f"--width 80: {folded.median:.2f} s ({folded.median / floor.median:.2f}x); "
            "floor = python -c onnx.load + onnx.printer.to_text (benchmarks.tree_bench)",
        )
    ]


def diff_seed(cfg: Config) -> list[Row]:
    from benchmarks.app_jobs import diff_seed as run

    r = run(cfg.diff_repeats)
    parts = ", ".join(f"{k} {v:.1f}" for k, v in r["breakdown_ms"].items())
    rebuilt = "REBUILT (" if r["rebuilt"] else "none rebuilt ("
    stats = f"{rebuilt}stats before {r['stats_before']}, after {r['stats_after']})"
    return [
        Row(
            ITEMS[4],
            "s",
            r["seconds"],
            r["floor_s"],
            1.2,
            cfx_rss_mib=r["worker_rss_mib"],
            floor_rss_mib=r["floor_rss_mib"],
            note=(
                f"{r['variant']}, `]` (next seed, runs at once; typing waits "
                f"{r['debounce_ms']:.0f} ms for a pause) -> status shows the new seed + one "
                f"frame; sessions/modules: {stats}"
            ),
            extra=r,
        ),
        Row(
            ITEMS[5],
            "s",
            r["engine_diff_s"],
            r["floor_s"],
            1.2,
            cfx_rss_mib=r["worker_rss_mib"],
            note=f"Session.diff alone, worker-side ms: {parts} (reference = onnx "
            "ReferenceEvaluator, on by default for models up to 8 MiB)",
        ),
    ]


def sweep(cfg: Config) -> list[Row]:
    from benchmarks.engine_bench import sweep as run

    r = run(cfg.sweep_repeats)
    return [
        Row(
            ITEMS[6],
            "s",
            r["seconds"],
            r["floor_s"],
            1.1,
            cfx_rss_mib=r["worker_rss_mib"],
            note=f"{r['variant']} knob {r['knob']}, N={r['n']}: worker 'sweep' op vs "
            f"{r['n']} Session.diff calls (fresh seeds both sides)",
        )
    ]


def export(cfg: Config) -> list[Row]:
    from benchmarks.engine_bench import export as run

    rows = []
    for exporter, item in (("script", ITEMS[7]), ("dynamo", ITEMS[8])):
        if exporter == "dynamo" and not cfg.dynamo:
            rows.append(Row(item, "s", None, None, 1.05, note="skipped with --quick"))
            continue
        repeats = cfg.dynamo_repeats if exporter == "dynamo" else cfg.export_repeats
        r = run(exporter, repeats)
        same = (
            "floor = torch.jit.script + torch.onnx.export(dynamo=False, verbose=True, stdout "
            "discarded) as cfexplore does; cfexplore adds IPC, warnings capture, onnx.load of "
            "the result + If/Loop counts, atomic rename"
            if exporter == "script"
            else "floor = torch.onnx.export(dynamo=True, optimize=False) + program.optimize() + "
            "save, as cfexplore does; cfexplore adds If/Loop counts before optimize, stdout "
            "lines forwarded as progress, IPC, onnx.load of the result"
        )
        rows.append(
            Row(
                item,
                "s",
                r["seconds"],
                r["floor_s"],
                1.05,
                cfx_rss_mib=r["worker_rss_mib"],
                floor_rss_mib=r["floor_rss_mib"],
                note=f"{r['variant']}, warm (2nd+ export in the process), median of "
                f"{repeats}; worker-side {r['worker_export_s'] * 1000:.0f} ms; {same}",
            )
        )
    return rows


def heartbeat(cfg: Config) -> list[Row]:
    from benchmarks.app_jobs import heartbeat as run

    r = run(cfg.heartbeat_s)
    return [
        Row(
            ITEMS[10],
            "ms",
            r["p99_ms"],
            None,
            50.0,
            absolute=True,
            cfx_rss_mib=r["rss_mib"],
            note=f"p99 gap between set_interval(0.01) ticks over {cfg.heartbeat_s:g} s of a "
            f"{r['job']}; p50 {r['p50_ms']:.1f} ms, max {r['max_ms']:.1f} ms, "
            f"{r['ticks']} ticks, job still running at the end: {r['job_still_running']}",
        )
    ]


def switch(cfg: Config) -> list[Row]:
    from benchmarks.app_jobs import SWITCH, variant_switch

    r = variant_switch(cfg.switch_repeats)
    return [
        Row(
            ITEMS[11],
            "s",
            r["switch_s"],
            r["export_s"],
            1.5,
            note=f"app: load_target between {' and '.join(SWITCH)} until TargetLoaded, median "
            f"of {r['n']}; floor = one script export of the loaded variant in the same app; "
            f"{r['loads_in_one_worker']} loads in one warm worker (torch imported once)",
        )
    ]


def visits(cfg: Config) -> list[Row]:
    from benchmarks.app_jobs import first_visits

    r = first_visits(cfg.heartbeat_s)
    return [
        Row(
            ITEMS[12],
            "ms",
            r["visit_p99_ms"],
            None,
            50.0,
            absolute=True,
            note=f"fresh process: 2, 3, 4, 5 pressed 0.25 s apart right after the first paint "
            f"(heavy imports in the background thread); max {r['visit_max_ms']:.0f} ms",
        ),
        Row(
            ITEMS[13],
            "ms",
            r["load_p99_ms"],
            None,
            50.0,
            absolute=True,
            note="load if-forward-arg (worker start, torch import) then switch to "
            f"loop-forward-arg; max {r['load_max_ms']:.0f} ms; {r['ticks']} ticks in all",
        ),
    ]


def open_files(cfg: Config, model: Path) -> list[Row]:
    """Heartbeat while the Graph screen opens the 100k model and a 20,000-If model: the
    tree, then lint, counts and audit (in the file worker) until the summary is in."""
    import onnx

    from benchmarks.app_jobs import open_heartbeat
    from benchmarks.genmodel import sibling_ifs

    ifs = model.with_name("sibling_ifs.onnx")
    n = 2_000 if cfg.quick else 20_000
    onnx.save(sibling_ifs(n), str(ifs))
    rows = []
    for item, path, what in (
        (ITEMS[14], model, "the generated model"),
        (ITEMS[15], ifs, f"{n:,} sibling Ifs"),
    ):
        r = open_heartbeat(str(path))
        rows.append(
            Row(
                item,
                "ms",
                r["p99_ms"],
                None,
                50.0,
                absolute=True,
                note=f"fresh app, imports done: open {what} until its summary and audit are "
                f"in (tree {r['shown_s']:.1f} s, audit {r['audited_s']:.1f} s); max "
                f"{r['max_ms']:.0f} ms (parsing holds the GIL); {r['ticks']} ticks",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small model, few repeats")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    cfg = Config(args.quick)
    info = machine_info()
    print(
        f"machine: {info['cpu']} · {info['cores']} cores · {info['memory_gib']} GiB · "
        f"Python {info['python']} · "
        + " ".join(f"{k} {v}" for k, v in info["versions"].items() if v),
        flush=True,
    )
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cfx-bench-") as tmp:
        from benchmarks.genmodel import write_model

        model = Path(tmp) / "bench_100k.onnx"
        lay = write_model(model, cfg.scale)
        print(f"model: {lay.total:,} nodes ({model.stat().st_size:,} bytes)", flush=True)
        steps: list[tuple[tuple[str, ...], Callable[[], list[Row]]]] = [
            ((ITEMS[0],), lambda: first_screen(cfg)),
            ((ITEMS[1], ITEMS[2], ITEMS[9]), lambda: browse(cfg, model)),
            ((ITEMS[3],), lambda: tree_cli(cfg, model)),
            ((ITEMS[4], ITEMS[5]), lambda: diff_seed(cfg)),
            ((ITEMS[6],), lambda: sweep(cfg)),
            ((ITEMS[7], ITEMS[8]), lambda: export(cfg)),
            ((ITEMS[10],), lambda: heartbeat(cfg)),
            ((ITEMS[11],), lambda: switch(cfg)),
            ((ITEMS[12], ITEMS[13]), lambda: visits(cfg)),
            ((ITEMS[14], ITEMS[15]), lambda: open_files(cfg, model)),
        ]
        failed = False
        for names, step in steps:
            t0 = time.perf_counter()
            try:
                got = step()
            except Exception as exc:
                failed = True
                traceback.print_exc()
                got = [
                    Row(n, "s", None, None, 0.0, error=f"{type(exc).__name__}: {exc}")
                    for n in names
                ]
            print(f"  {', '.join(names)}: {time.perf_counter() - t0:.1f} s", flush=True)
            rows.extend(got)
    order = {name: i for i, name in enumerate(ITEMS)}
    rows.sort(key=lambda r: order.get(r.item, len(order)))
    print(render_table(rows))
    print(f"total {time.perf_counter() - started:.0f} s{' (--quick)' if cfg.quick else ''}")
    if args.json:
        doc = {
            "quick": cfg.quick,
            "machine": info,
            "model_nodes": lay.total,
            "rows": [r.to_json() for r in rows],
        }
        Path(args.json).write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
