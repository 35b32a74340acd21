"""The real app driven with Pilot: real exports in real worker processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
from textual.widgets import Checkbox, DataTable, Input, Switch

from cfexplore.settings import RunSettings
from cfexplore.spec import TargetSpec
from cfexplore.target.targets import parse_target
from cfexplore.tui.app import CfxApp
from tests.backend_cases import case as backend_case
from tests.conftest import DATA
from tests.tui_helpers import settle, text_of

SIZE = (100, 30)


async def load(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    app.load_target(TargetSpec(variant=name))
    await settle(pilot, lambda: app.state.spec is not None and app.state.spec.variant == name)


async def test_first_screen_lists_variants_without_torch() -> None:
    code = (
        "import asyncio, sys\n"
        "from cfexplore.tui.app import CfxApp\n"
        "async def main():\n"
        "    app = CfxApp()\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        await pilot.pause()\n"
        "        t = app.screen.query_one('#variants-table')\n"
        "        assert t.row_count >= 14, t.row_count\n"
        "        assert 'torch' not in sys.modules\n"
        "asyncio.run(main())\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]


async def test_select_variant_export_diff_flip_sweep() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#variants-table", DataTable)
        table.move_cursor(
            row=list(table.rows).index(next(k for k in table.rows if k.value == "if-forward-arg"))
        )
        await pilot.press("enter")
        await settle(pilot, lambda: app.state.session is not None)
        assert "if-forward-arg" in text_of(app, "#loaded-line")
        assert "IfForwardArg" in text_of(app, "#source-view")

        await pilot.press("2")
        await pilot.press("s", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        result = text_of(app, "#result-view")
        assert "If 1" in result and "ONNX inputs: branch_testing, x" in result
        assert app.state.onnx is not None and app.state.onnx.exporter == "script"

        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        assert "branch_testing=false" in text_of(app, "#diff-status")
        app.screen.query_one("#knob-0", Switch).value = True
        await settle(pilot, lambda: "branch_testing=true" in text_of(app, "#diff-status"))
        assert text_of(app, "#diff-status").startswith("PASS")
        await pilot.press("s")
        await settle(pilot, lambda: "preserved" in text_of(app, "#verdict-view"))
        assert "input 'branch_testing'" in text_of(app, "#verdict-view")


async def test_instance_attr_is_frozen_in_diff_and_sweep() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "if-instance-attr")
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        app.screen.query_one("#knob-0", Switch).value = True
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("FAIL"))
        assert "not an ONNX input" in text_of(app, "#diff-status")
        table = app.screen.query_one("#diff-table", DataTable)
        assert "FAIL" in str(table.get_row_at(0)[1])
        await pilot.press("s")
        await settle(pilot, lambda: "frozen" in text_of(app, "#verdict-view"))
        assert "instance attribute" in text_of(app, "#verdict-view")


async def test_failed_export_short_error_and_details() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "if-class-attr")
        await pilot.press("2", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        view = text_of(app, "#result-view")
        assert "failed" in view and "has no attribute 'branch_testing'" in view
        assert "HERE" not in view
        await pilot.press("d")
        await pilot.pause()
        assert "HERE" in text_of(app, "#result-view")


async def test_cancel_export_then_export_again() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "if-torch-cond")
        await pilot.press("2", "y", "x")
        await pilot.pause(0.3)
        await pilot.press("escape")
        await settle(pilot)
        assert "cancelled" in text_of(app, "#run-status")
        assert app.is_running
        await pilot.press("s", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        await pilot.press("y", "x")
        await settle(pilot, lambda: "dynamo" in app.state.exports)
        assert app.state.exports["dynamo"].ok
        assert "If 1" in text_of(app, "#result-view")


async def test_save_export_atomically(tmp_path: Path) -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "loop-forward-arg")
        await pilot.press("2", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        dest = tmp_path / "saved.onnx"
        app.screen.query_one("#save-input", Input).value = str(dest)
        await pilot.press("w")
        await settle(pilot, lambda: dest.exists())
        model = onnx.load(str(dest))
        assert any(n.op_type == "Loop" for n in model.graph.node)
        assert [p.name for p in tmp_path.iterdir()] == ["saved.onnx"]
        # weights in a sibling data file: saved together, twice, without growing
        app.screen.query_one("#external-data", Checkbox).value = True
        for _ in range(2):
            await pilot.press("w")
            await settle(pilot, lambda: len(list(tmp_path.glob("saved.onnx.*.data"))) == 1)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert len(names) == 2 and names[0] == "saved.onnx", names
        assert any(n.op_type == "Loop" for n in onnx.load(str(dest)).graph.node)


async def test_matrix_screen_runs_and_opens_a_cell(tmp_path: Path) -> None:
    import asyncio

    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5", "r")
        # cells fill as each variant finishes, while the job still runs
        partial: list[list[str]] = []
        for _ in range(3600):
            await asyncio.sleep(0.05)
            if app.screen.report is not None and app.screen.running_jobs():
                table = app.screen.query_one("#matrix-table", DataTable)
                partial = [
                    [str(c) for c in row[1:]]
                    for row in map(table.get_row, ["script/If", "script/Loop", "trace/If"])
                ]
                break
        cells = [c for row in partial for c in row]
        assert cells and any(c != "·" for c in cells) and "·" in cells, partial
        await settle(
            pilot,
            lambda: app.screen.report is not None and not app.screen.running_jobs(),
            timeout=180,
        )
        table = app.screen.query_one("#matrix-table", DataTable)
        row = [str(c) for c in table.get_row("script/If")]
        assert row[1].startswith("failed") and "frozen" in row[1]
        assert row[2] == "frozen" and row[3] == "preserved"
        table.move_cursor(row=0, column=2)
        await pilot.pause()
        assert "instance attribute" in text_of(app, "#matrix-cell")
        md = tmp_path / "m.md"
        app.screen.query_one("#md-path", Input).value = str(md)
        table.focus()
        await pilot.press("m")
        assert "| If | failed (plain) / frozen (Final) | frozen | preserved |" in md.read_text()
        table.move_cursor(row=0, column=3)
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: (
                type(app.screen).__name__ == "DiffScreen"
                and text_of(app, "#diff-status").startswith("PASS")
            ),
        )
        assert app.state.spec == TargetSpec(variant="if-forward-arg")


async def test_help_and_palette_commands() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        help_text = text_of(app, "Static")
        assert "Export" in help_text and "Cancel" in help_text
        await pilot.press("escape")
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert any(t.startswith("Export (x)") for t in commands)
        assert any(t.startswith("Graph (3)") for t in commands)
        # each once, keys as the footer shows them
        assert len(commands) == len(set(commands)), commands
        assert "Help (?)" in commands and not any("question_mark" in t for t in commands)
        # the other screens built so far are listed too; choosing one switches there
        await pilot.press("1")
        await pilot.pause()
        found = [c for c in app.get_system_commands(app.screen) if c.title == "Export: Save (w)"]
        assert found, [c.title for c in app.get_system_commands(app.screen)]
        found[0].callback()
        await settle(pilot, lambda: app.current_mode == "export")


async def test_open_bad_input_keeps_running() -> None:
    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.has_class("-narrow")
        app.open_path("no/such/file.py:Net")
        app.open_path("missing.onnx")
        await settle(pilot)
        assert app.is_running
        assert len(app._notifications) >= 2


async def test_open_onnx_file_runs_in_ort(tmp_path: Path) -> None:
    case = backend_case("test_scan9_sum")
    path = tmp_path / "scan.onnx"
    onnx.save(case.model, str(path))
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#open-input", Input).value = str(path)
        app.screen.query_one("#open-input", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.state.onnx is not None and app.state.onnx.exporter is None
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        assert "reference" in text_of(app, "#diff-status")
        table = app.screen.query_one("#diff-table", DataTable)
        assert table.row_count == 2
        assert "pass" in str(table.get_row_at(0)[1])


async def test_three_way_columns_trace_badges_and_source() -> None:
    from cfexplore.render.report import DIFF_COLUMNS

    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "if-in-loop")
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        table = app.screen.query_one("#diff-table", DataTable)
        assert tuple(str(c.label) for c in table.columns.values()) == DIFF_COLUMNS
        assert "reference" in text_of(app, "#diff-status")
        await pilot.press("s")
        await settle(pilot, lambda: "branch trace" in text_of(app, "#verdict-view"))
        assert "trip 0..3" in text_of(app, "#verdict-view")
        await pilot.press("3")
        await settle(pilot, lambda: app.screen.model is not None)
        badges = app.screen.query_one("#graph-tree").badges
        assert badges[(1,)].plain == "[trip 0..3]"
        assert "then" in badges[(1, "body", 1)].plain
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert type(app.screen).__name__ == "SourceScreen"
        assert app.screen.file.endswith("zoo.py")
        await pilot.press("escape")


async def test_audit_badge_and_compare_screen(tmp_path: Path) -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "loop-forward-arg")
        await pilot.press("2", "x")
        await settle(pilot, lambda: "script" in app.state.exports)
        session = app.state.session
        traced = session.export("trace", RunSettings(values={"n_loops": 3}))
        app.record_export(traced, "loop-forward-arg")
        await pilot.press("3")
        await settle(
            pilot, lambda: app.screen.model is not None and app.screen.onnx_ref.exporter == "trace"
        )
        assert "unrolled" in text_of(app, "#graph-summary")
        badges = app.screen.query_one("#graph-tree").badges
        assert any("unrolled" in b.plain for b in badges.values())
        await pilot.press("x")
        await settle(
            pilot,
            lambda: (
                "unrolled" in text_of(app, "#compare-view")
                or "only-in" in text_of(app, "#compare-view")
            ),
        )
        assert "unrolled" in text_of(app, "#compare-view")


async def test_report_key_writes_markdown(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "if-instance-attr")
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        await pilot.press("w")
        report = tmp_path / "cfexplore-report-if-instance-attr.md"
        await settle(pilot, report.exists, timeout=120)
        assert "**frozen**" in report.read_text()


async def test_loading_a_target_after_a_file_leaves_file_mode(tmp_path: Path) -> None:
    case = backend_case("test_scan9_sum")
    path = tmp_path / "scan.onnx"
    onnx.save(case.model, str(path))
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_path(str(path))
        await pilot.press("4")
        await settle(pilot, lambda: "ORT" in text_of(app, "#diff-status"))
        await load(pilot, "if-forward-arg")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        assert "branch_testing" in text_of(app, "#diff-status")


async def test_seed_keys_and_enter_run_without_the_typing_pause() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "if-forward-arg")
        await pilot.press("4")
        await settle(pilot, lambda: " seed 0 " in text_of(app, "#diff-status") + " ")
        screen = app.screen
        before = app.state.session.stats()
        await pilot.press("right_square_bracket")
        assert screen._timer is None  # ran at once: no debounce timer in between
        await settle(pilot, lambda: " seed 1 " in text_of(app, "#diff-status") + " ")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot, lambda: " seed 3 " in text_of(app, "#diff-status") + " ")
        await pilot.press("left_square_bracket")
        await settle(pilot, lambda: " seed 2 " in text_of(app, "#diff-status") + " ")
        assert screen.query_one("#seed", Input).value == "2"
        await pilot.press("i")  # into the seed box: type, Enter runs at once
        box = screen.query_one("#seed", Input)
        box.value = ""
        await pilot.press("4", "2")
        assert screen._timer is not None  # typing waits for a pause...
        await pilot.press("enter")
        assert screen._timer is None  # ...Enter does not
        await settle(pilot, lambda: " seed 42 " in text_of(app, "#diff-status") + " ")
        after = app.state.session.stats()
        # a new seed rebuilds neither the module nor the ORT session
        assert {k: after[k] for k in ("loads", "module_builds", "sessions")} == {
            k: before[k] for k in ("loads", "module_builds", "sessions")
        }


async def test_int_knob_box_shows_what_is_typed_and_follows_the_target() -> None:
    """Typing 123 shows 123 (the box was one character wide); loading another target
    rebuilds the knobs (no switch of the previous target left) and re-runs the diff."""
    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await load(pilot, "loop-forward-arg")
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        box = app.screen.query_one("#knob-0", Input)
        box.focus()
        box.value = ""
        await pilot.press("1", "2", "3")
        await pilot.pause()
        assert box.value == "123"
        assert box.content_size.width >= len("123") + 1  # the digits and the cursor show
        await settle(pilot, lambda: "n_loops=123" in text_of(app, "#diff-status"))
        await pilot.press("escape")
        await load(pilot, "if-instance-attr")
        await pilot.press("4")
        await settle(pilot, lambda: "branch_testing=false" in text_of(app, "#diff-status"))
        assert isinstance(app.screen.query_one("#knob-0"), Switch)
        assert not app.screen.query("#knob-1")


async def test_escape_leaves_the_text_boxes_of_export_and_matrix() -> None:
    """Esc in the save path (Export) or the Markdown path (Matrix) leaves the box, so the
    next `4` switches screen instead of being typed into the path."""
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        for mode, box_id in (("2", "#save-input"), ("5", "#md-path")):
            await pilot.press(mode)
            await pilot.pause()
            box = app.screen.query_one(box_id, Input)
            box.focus()
            box.value = "out.onnx"
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is not box
            await pilot.press("4")
            await pilot.pause()
            assert app.current_mode == "diff"
            assert box.value == "out.onnx"


async def test_first_visit_to_diff_exports_and_diffs_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Knob widgets post Changed when they mount, which on a loaded machine can come after
    the first diff started: that is not an edit, so the first visit runs one export and one
    diff, not a second of each behind the first. (No typing pause: the first diff starts
    before the widgets are mounted, as it does when mounting is slow.)"""
    import asyncio

    from cfexplore.tui.screens import diff

    monkeypatch.setattr(diff, "DEBOUNCE", 0.001)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await load(pilot, "if-forward-arg")
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        await asyncio.sleep(1.0)
        await pilot.pause()
        stats = app.state.session.stats()
        assert (stats["exports"], stats["diffs"]) == (1, 1), stats
        app.screen.query_one("#knob-0", Switch).toggle()
        await settle(pilot, lambda: "=true" in text_of(app, "#diff-status"))
        assert app.state.session.stats()["diffs"] == 2
        app.screen.query_one(DataTable).focus()
        await pilot.press("y")  # the reproduce command of that diff, to the clipboard
        assert app.clipboard.startswith("cfexplore diff if-forward-arg --exporter script")
        assert "--run=branch_testing=true" in app.clipboard


async def test_variant_switch_reuses_the_warm_worker() -> None:
    """Built-in variants load into one warm worker (torch imported once per app run); a
    user file gets a process of its own, and the warm one stays for the next variant."""
    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await load(pilot, "if-forward-arg")
        first = app.state.session
        pid = first.client.pid
        await load(pilot, "loop-forward-arg")
        session = app.state.session
        assert session is not first and session.client is first.client
        assert session.client.pid == pid and session.stats()["loads"] == 2
        assert "loop-forward-arg" in text_of(app, "ModeBar")
        app.load_target(parse_target(str(DATA / "user_model.py") + ":UserNet"))
        await settle(pilot, lambda: app.state.spec.variant is None)
        assert app.state.session.client is not first.client
        assert first.client.alive and first.client.pid == pid
        await load(pilot, "if-forward-arg")
        assert app.state.session.client is first.client and first.client.pid == pid


async def test_mode_bar_shows_a_running_job_until_ctrl_c() -> None:
    """While a load runs the bar names it, with a spinner, the elapsed time and the ctrl+c
    hint, on every screen; ctrl+c cancels it and the bar shows the loaded target again."""
    import asyncio

    from cfexplore.tui.widgets.mode_bar import SPINNER

    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await load(pilot, "if-forward-arg")
        app.load_target(parse_target(str(DATA / "hangs_on_import.py") + ":Net"))
        seen: list[str] = []
        for _ in range(300):
            await asyncio.sleep(0.01)
            seen.append(text_of(app, "ModeBar"))
            if "0.5s" in seen[-1] or "0.6s" in seen[-1]:
                break
        bar = seen[-1]
        assert "loading hangs_on_import.py:Net" in bar, seen[-3:]
        assert bar[bar.index("loading") - 2] in SPINNER and bar.endswith("s  ctrl+c")
        assert len({b[b.index("loading") - 2] for b in seen if "loading" in b}) > 1  # spins
        await pilot.press("3")
        await pilot.pause(0.3)
        assert "loading hangs_on_import.py:Net" in text_of(app, "ModeBar")
        await pilot.press("ctrl+c")
        await settle(pilot)
        await pilot.pause(0.3)
        bar = text_of(app, "ModeBar")
        assert "loading" not in bar and "if-forward-arg" in bar, bar
        assert app.state.spec.variant == "if-forward-arg"


def _one_write(app, keys: str) -> None:  # type: ignore[no-untyped-def]
    """Post keys the way the driver does for one read from the terminal: all at once,
    without waiting for any to be handled (Pilot.press waits after each key)."""
    from textual import events

    names = {"\x7f": "backspace", "<": "left", ">": "right"}
    for ch in keys:
        key = names.get(ch, ch)
        app.post_message(events.Key(key, ch if key == ch else None))


async def test_keys_in_one_write_keep_their_order_in_text_boxes() -> None:
    """Textual 8.2.8 runs an Input's own key bindings after the characters that came in the
    same read: Backspace Backspace + letters lost letters. Our boxes apply each key in order
    (and a plain Input still shows the upstream bug, so this workaround is still needed)."""
    from textual.app import App, ComposeResult

    class Plain(App[None]):
        def compose(self) -> ComposeResult:
            yield Input("hello")

    plain = Plain()
    async with plain.run_test() as pilot:
        await pilot.press("end")
        _one_write(plain, "\x7f\x7fxyz")
        await pilot.pause(0.2)
        assert plain.query_one(Input).value != "helxyz"  # the bug, upstream

    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        box = app.screen.query_one("#save-input", Input)
        box.focus()
        box.value = "model.onnx"
        await pilot.press("end")
        _one_write(app, "\x7f\x7f\x7f\x7fpt<<x>>\x7fq")
        await pilot.pause(0.2)
        assert box.value == "model.xpq"
        await pilot.press("1")  # typed into the box, not a screen switch
        assert box.value == "model.xpq1" and app.current_mode == "export"


async def test_a_screen_still_importing_shows_loading_and_keys_keep_working(
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """A screen whose module the background import has not finished does not block the UI:
    the mode bar says it is loading, other keys work meanwhile, and a later switch wins."""
    import threading

    from cfexplore.tui import preload

    gate = threading.Event()
    monkeypatch.setattr(preload, "_ready", {"graph": gate})
    monkeypatch.setattr(preload, "_thread", threading.current_thread())  # start(): no-op
    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await pilot.pause(0.3)
        assert app.current_mode == "variants"
        assert "loading the Graph screen" in text_of(app, "ModeBar")
        await pilot.press("2")  # works at once, and wins over the pending Graph
        await pilot.pause()
        assert app.current_mode == "export"
        gate.set()
        await pilot.pause(0.3)
        assert app.current_mode == "export"
        assert "loading" not in text_of(app, "ModeBar")
        await pilot.press("3")
        await pilot.pause()
        assert app.current_mode == "graph"
        gate.clear()
        await pilot.press("1", "3")  # built once: never waits again
        await pilot.pause()
        assert app.current_mode == "graph"


async def test_diff_table_fits_a_narrow_terminal_without_cutting_a_cell() -> None:
    """At 60 columns the least needed columns are left out (and the status says so), so
    `outside` shows 0/16 whole; at 100 columns every column is back."""
    app = CfxApp()
    async with app.run_test(size=(60, 20)) as pilot:
        await load(pilot, "if-forward-arg")
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith("PASS"))
        table = app.screen.query_one(DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        assert "outside" in labels and "type" not in labels and "ORT↔ref" not in labels
        assert str(table.get_row_at(0)[labels.index("outside")]) == "0/16"
        widths = sum(c.get_render_width(table) for c in table.columns.values())
        assert widths <= table.size.width
        assert "too narrow for ORT↔ref, type" in text_of(app, "#diff-status")
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.2)
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[-1] == "type" and "ORT↔ref" in labels
        assert "too narrow" not in text_of(app, "#diff-status")


def test_source_view_lights_the_lines_the_knob_search_finds() -> None:
    """One finder: the Source modal once missed `fori_loop` lines the knob search found."""
    import ast

    from cfexplore.target.source import control_flow_lines
    from cfexplore.tui.screens.source import control_lines

    code = (
        "class Net:\n"
        "    def forward(self, x, n: int):\n"
        "        if n > 1:\n"
        "            x = x + 1\n"
        "        for _ in range(n):\n"
        "            x = x * 2\n"
        "        x = torch.cond(x.sum() > 0, f, g, (x,))\n"
        "        x = fori_loop(0, n, body, x)\n"
        "        return while_loop(c, b, (x,))\n"
    )
    assert control_lines(code) == {3, 5, 7, 8, 9}
    assert control_lines(code) == set(control_flow_lines(ast.parse(code)))
    assert control_lines("def broken(:\n") == set()
