"""`--weights FILE.pt`: state_dicts load with weights_only=True; pickled code is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cfexplore.engine.session import Session
from cfexplore.errors import CfxError
from cfexplore.target.targets import parse_target
from cfexplore.worker.runtime import Loaded
from cfexplore.worker.weights import load_weights
from tests.conftest import DATA

USER = f"{DATA / 'user_model.py'}:UserNet"


class Evil:
    """Unpickling this runs a shell command (what weights_only must refuse)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_state_dict_is_loaded(tmp_path: Path) -> None:
    loaded = Loaded.from_spec(parse_target(USER))
    state = {k: torch.full_like(v, 0.25) for k, v in loaded.module.state_dict().items()}
    path = tmp_path / "w.pt"
    torch.save(state, path)
    again = Loaded.from_spec(parse_target(USER, weights=str(path)))
    assert torch.equal(again.module.fc.weight, torch.full((4, 4), 0.25))
    # a checkpoint dict with a "state_dict" entry works too
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "ckpt.pt")
    load_weights(loaded.module, str(tmp_path / "ckpt.pt"))
    assert torch.equal(loaded.module.fc.bias, torch.full((4,), 0.25))


@pytest.mark.slow
def test_pickled_code_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"fc.weight": Evil(marker)}, evil)
    with pytest.raises(CfxError, match="refused: it holds more than tensors") as info:
        Session.open(parse_target(USER, weights=str(evil)))
    assert "\n" not in str(info.value)
    assert not marker.exists()
    run = subprocess.run(
        [sys.executable, "-m", "cfexplore", "diff", USER, "--exporter", "script"]
        + ["--weights", str(evil)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "refused" in run.stderr and not marker.exists()


def test_torchscript_archive_is_code_not_weights(tmp_path: Path) -> None:
    loaded = Loaded.from_spec(parse_target(USER))
    archive = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(loaded.module), str(archive))
    with pytest.raises(CfxError, match="TorchScript archive is code"):
        load_weights(loaded.module, str(archive))


def test_mismatched_state_dict_says_what_does_not_fit(tmp_path: Path) -> None:
    loaded = Loaded.from_spec(parse_target(USER))
    path = tmp_path / "other.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CfxError, match="does not fit UserNet") as info:
        load_weights(loaded.module, str(path))
    assert "\n" not in str(info.value)
    torch.save([1, 2, 3], path)
    with pytest.raises(CfxError, match="not a state_dict"):
        load_weights(loaded.module, str(path))
    with pytest.raises(CfxError, match="no such file"):
        parse_target(USER, weights=str(tmp_path / "missing.pt"))
