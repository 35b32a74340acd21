"""UI fuzz: seeded random key sequences with random terminal resizes over every screen.

CI runs a reduced count; `CFEXPLORE_FUZZ=full` runs 200 sequences x 100 keys.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from cfexplore.spec import TargetSpec
from cfexplore.tui.app import CfxApp
from tests.tui_helpers import settle

FULL = os.environ.get("CFEXPLORE_FUZZ") == "full"
SEQUENCES, KEYS = (200, 100) if FULL else (12, 50)
KEYPOOL = [
    *"12345",
    *"abcdefghiklmnoprstuvwxy",
    "N",
    "slash",
    "question_mark",
    "up",
    "down",
    "left",
    "right",
    "home",
    "end",
    "pageup",
    "pagedown",
    "enter",
    "space",
    "tab",
    "shift+tab",
    "escape",
    "backspace",
    "ctrl+c",
    "ctrl+p",
]
SIZES = [(80, 24), (100, 30), (60, 20), (140, 40), (40, 12)]


@pytest.mark.parametrize("seed", range(SEQUENCES))
async def test_random_keys_never_crash(seed: int, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # `w` writes a report into the current folder
    rng = random.Random(seed)
    app = CfxApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.load_target(TargetSpec(variant=rng.choice(["if-in-loop", "if-forward-arg"])))
        await settle(pilot, lambda: app.state.session is not None)
        for _ in range(KEYS):
            if rng.random() < 0.08:
                await pilot.resize_terminal(*rng.choice(SIZES))
            await pilot.press(rng.choice(KEYPOOL))
            if rng.random() < 0.05:
                await pilot.pause(0.05)
            assert app.is_running, f"seed {seed}: the app stopped"
        app.action_cancel_job()
        for screen in app._mode_screens():
            screen.cancel_job()
        await settle(pilot, timeout=120)
        assert app.is_running
        assert not [
            n for n in app._notifications if n.severity == "error" and "Traceback" in n.message
        ]
