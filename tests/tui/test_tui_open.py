"""The Variants screen's Open box: a target followed by the CLI's options, real workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from cfexplore.errors import CfxError
from cfexplore.tui.app import CfxApp
from cfexplore.tui.open_args import parse_open
from tests.tui_helpers import settle

SIZE = (100, 30)

DICT_INPUTS = """\
import torch
from torch import nn


class Net(nn.Module):
    def forward(self, x, y, flag: bool = False):
        if flag:
            return x.sum(dim=1) + y.sum()
        return x.mean(dim=1) - y.mean()


def example_inputs():
    x = torch.randn(2, 3)
    y = torch.randn(5)
    return {"flag": True, "y": y, "x": x}
"""

INT_KNOB = """\
import torch
from torch import nn


class Net(nn.Module):
    def forward(self, x, n: int = 2):
        for _ in range(n):
            x = x + 1
        return x


def example_inputs():
    return (torch.randn(2, 2),)
"""


async def open_in_box(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type `text` into the Open box (as `o` then typing would) and press Enter."""
    await pilot.press("o")
    box = pilot.app.screen.query_one("#open-input", Input)
    assert pilot.app.focused is box
    box.value = text
    await pilot.press("enter")
    await pilot.pause()


async def consent_and_load(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    assert type(app.screen).__name__ == "ConfirmScreen"
    await pilot.press("y")
    await settle(pilot, lambda: app.state.session is not None, timeout=120)


def error_lines(app: CfxApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def test_dict_example_inputs_with_a_bool_bind_by_name(tmp_path: Path) -> None:
    src = tmp_path / "model.py"
    src.write_text(DICT_INPUTS)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_in_box(pilot, f"{src}:Net")
        await consent_and_load(pilot)
        info = app.state.info
        knobs = {k.name: k for k in info.knobs}
        assert "flag" in knobs and knobs["flag"].default is True
        shapes = {i.name: i.shape for i in info.inputs}
        assert shapes == {"x": (2, 3), "y": (5,)}
        assert not error_lines(app)


async def test_bad_option_is_one_error_line_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "model.py"
    src.write_text(INT_KNOB)
    app = CfxApp()
    loads: list[object] = []
    monkeypatch.setattr(app, "load_target", loads.append)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_in_box(pilot, f"{src}:Net --bogus 1")
        await settle(pilot)
        assert app.is_running
        assert type(app.screen).__name__ == "VariantsScreen"  # no consent asked
        errors = error_lines(app)
        assert len(errors) == 1 and "--bogus" in errors[0] and "\n" not in errors[0]
        assert not loads and not [w for w in app.workers if w.group == "load"]
        assert app.state.session is None
        assert app.focused is app.screen.query_one("#open-input", Input)


async def test_values_option_reaches_the_loaded_knob(tmp_path: Path) -> None:
    src = tmp_path / "model.py"
    src.write_text(INT_KNOB)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_in_box(pilot, f"{src}:Net --values n=1,3")
        await consent_and_load(pilot)
        knob = next(k for k in app.state.info.knobs if k.name == "n")
        assert knob.values == (1, 3)
        assert app.state.spec.values == {"n": (1, 3)}


async def test_module_target_consent_names_the_module() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        assert app.open_path("json.decoder:JSONDecoder --init strict=false")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        assert app.screen.title_text == "Import and run json.decoder?"
        assert "decoder.py (sha256 " in app.screen.body
        await pilot.press("n")
        await settle(pilot)
        assert app.state.session is None


def test_parse_open_keeps_bracketed_configs_verbatim() -> None:
    args = parse_open(
        'transformers:BertModel --init config={"vocab_size": 100, "hidden_size": 32} '
        "--input input_ids=1x8:int64:0..100 --values=n=1,3 --init 'a=1,b=x y' --weights w.pt"
    )
    assert args.target == "transformers:BertModel"
    assert args.init == ['config={"vocab_size": 100, "hidden_size": 32}', "a=1,b=x y"]
    assert args.input == ["input_ids=1x8:int64:0..100"]
    assert args.values == ["n=1,3"]
    assert args.weights == "w.pt"
    assert parse_open("'my dir/m.py:Net'").target == "my dir/m.py:Net"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("m.py:Net --bogus 1", "unknown option --bogus"),
        ("m.py:Net --init", "--init needs a value"),
        ("m.py:Net --weights a.pt --weights b.pt", "--weights given twice"),
        ("a.py:A b.py:B", "one target only"),
        ("--values n=1", "no target"),
        ("m.py:Net --init 'a=1", "no closing quotation"),
        ("m.py:Net --init config={'a': 1", "unclosed '{'"),
    ],
)
def test_parse_open_errors_are_one_line(text: str, error: str) -> None:
    with pytest.raises(CfxError) as info:
        parse_open(text)
    assert error in str(info.value) and "\n" not in str(info.value)


TREE_KNOBS = """\
from typing import Optional

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.use_skip = True
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        y = self.lin(x)
        if self.use_skip:
            y = y + x
        return y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()

    def forward(self, x, scale: Optional[bool] = None):
        y = self.block(x)
        if y.sum() > 0:
            y = y * 3
        if scale:
            y = y * 2
        return y, None


def example_inputs():
    return (torch.randn(2, 4),)
"""


async def test_diff_screen_edits_dotted_optional_and_drive_knobs(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Knob names with dots and `@` get widgets (ids by position); Optional[bool] and a
    data-dependent if's drives are picked from a list; each edit re-runs the diff."""
    import asyncio

    from textual.widgets import Select, Switch

    from cfexplore.tui.screens import diff
    from tests.tui_helpers import text_of

    # no typing pause: the first diff starts before the knob widgets mount (as on a loaded
    # machine), and their Changed on mount must not start the same diff again
    monkeypatch.setattr(diff, "DEBOUNCE", 0.001)

    src = tmp_path / "tree_knobs.py"
    src.write_text(TREE_KNOBS)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_in_box(pilot, f"{src}:Net")
        await consent_and_load(pilot)
        names = [k.name for k in app.state.info.knobs]
        assert names == ["scale", "block.use_skip", "data@tree_knobs.py:27"], names
        await pilot.press("4")
        # TorchScript refuses `if scale:` on an Optional[bool]: the export fails, the app
        # stays up and says why; trace exports it
        await settle(pilot, lambda: "export failed" in text_of(app, "#diff-status"))
        assert "Optional[bool]" in text_of(app, "#diff-status")
        await pilot.press("r")  # scripting the same class again says the same thing
        await settle(pilot, lambda: "running" not in text_of(app, "#diff-status"))
        await settle(pilot, lambda: "export failed" in text_of(app, "#diff-status"))
        assert "Optional[bool]" in text_of(app, "#diff-status"), text_of(app, "#diff-status")
        await pilot.press("t")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith(("PASS", "FAIL")))
        assert text_of(app, "#diff-status").startswith("PASS"), text_of(app, "#diff-status")
        await asyncio.sleep(1.0)  # the Selects' Changed on mount is not an edit
        await pilot.pause()
        assert app.state.session.stats()["diffs"] == 1, app.state.session.stats()
        scale = app.screen.query_one("#knob-0", Select)
        assert isinstance(app.screen.query_one("#knob-1", Switch), Switch)
        drive = app.screen.query_one("#knob-2", Select)
        drive.value = "1"  # negated inputs: eager takes the other branch of `y.sum() > 0`
        await settle(pilot, lambda: "negated" in text_of(app, "#diff-status"))
        app.screen.query_one("#knob-1", Switch).value = False
        await settle(pilot, lambda: "block.use_skip=false" in text_of(app, "#diff-status"))
        scale.value = "2"  # True
        await settle(pilot, lambda: "scale=true" in text_of(app, "#diff-status"))
        assert app.is_running


async def test_an_open_that_fails_later_keeps_focus_and_text_in_the_box(tmp_path: Path) -> None:
    """A load that starts and then fails (the file raises on import) leaves the focus and
    the text in the Open box, to be fixed; a load that succeeds moves focus to the list."""
    bad = tmp_path / "bad.py"
    bad.write_text("raise ValueError('broken on purpose')\n\n\nclass Net:\n    pass\n")
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_in_box(pilot, f"{bad}:Net")
        await pilot.press("y")  # consent
        await settle(pilot, lambda: bool(error_lines(app)), timeout=120)
        box = app.screen.query_one("#open-input", Input)
        assert "broken on purpose" in error_lines(app)[-1]
        assert app.focused is box and box.value == f"{bad}:Net"
        await pilot.press("x")  # a letter is typed, not taken as an action
        assert box.value == f"{bad}:Netx" and app.current_mode == "variants"
        box.value = "if-forward-arg"
        await pilot.press("enter")
        await settle(pilot, lambda: app.state.session is not None, timeout=120)
        await pilot.pause()
        assert app.focused is app.screen.query_one("#variants-table")


async def test_inputs_editor_reloads_a_python_model_and_remembers(tmp_path: Path) -> None:
    from cfexplore.target import inputstore
    from cfexplore.target.feeds import FeedPlan
    from tests.tui_helpers import text_of

    src = tmp_path / "model.py"
    src.write_text(DICT_INPUTS)
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_in_box(pilot, f"{src}:Net")
        await consent_and_load(pilot)
        await pilot.press("4")
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith(("PASS", "FAIL")))
        await pilot.press("e")
        await settle(pilot, lambda: type(app.screen).__name__ == "InputsScreen")
        app.screen.query_one("#input-0", Input).value = "4x3:complex9"  # x
        await pilot.press("enter")
        await settle(pilot)
        assert "unknown dtype" in text_of(app, "#inputs-error")  # said here, nothing ran
        app.screen.query_one("#input-0", Input).value = "4x3"
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: (
                app.state.info is not None
                and {i.name: i.shape for i in app.state.info.inputs} == {"x": (4, 3), "y": (5,)}
            ),
            timeout=120,
        )
        await settle(pilot, lambda: text_of(app, "#diff-status").startswith(("PASS", "FAIL")))
        assert text_of(app, "#diff-status").startswith("PASS"), text_of(app, "#diff-status")
    assert inputstore.recall(src) == FeedPlan({}, {"x": "4x3:float32", "y": "5:float32"})

    again = CfxApp()
    async with again.run_test(size=SIZE) as pilot:
        await open_in_box(pilot, f"{src}:Net")
        await consent_and_load(pilot)
        assert {i.name: i.shape for i in again.state.info.inputs}["x"] == (4, 3)
