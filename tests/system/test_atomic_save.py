"""Saving a model with external data is atomic: SIGKILL at any step leaves a model that
loads with its own data; saving again never grows the data file; cancel never touches the
destination."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from cfexplore.graph.safeload import load_model_safely
from cfexplore.graph.save import clean_leftovers, save_onnx
from tests.builders import model_file
from tests.conftest import DATA

X = np.linspace(-1, 1, 512, dtype=np.float32).reshape(1, 512)


def outputs(path: Path) -> np.ndarray:
    """Load through the safe loader (external data validated), then run in ORT."""
    model = load_model_safely(path, load_external=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": X, "flag": np.array(True)})[0]


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from cfexplore.graph.save import save_onnx

    src, dest, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    steps = []

    def fault(step):
        steps.append(step)
        if len(steps) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    save_onnx(src, dest, external_data=True, fault=fault)
    print(len(steps), ",".join(dict.fromkeys(steps)))
    """
)


def run_killer(src: Path, dest: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(src), str(dest), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_killed_at_twenty_random_points_the_previous_model_survives(tmp_path: Path) -> None:
    versions = {v: model_file(tmp_path / f"src{v}.onnx", seed=v) for v in (1, 2)}
    expected = {v: outputs(p) for v, p in versions.items()}
    assert not np.allclose(expected[1], expected[2])
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "model.onnx"
    save_onnx(versions[1], dest, external_data=True)
    current = 1
    np.testing.assert_array_equal(outputs(dest), expected[1])

    probe = run_killer(versions[2], tmp_path / "probe.onnx", 0)  # 0: never killed, counts
    assert probe.returncode == 0, probe.stderr
    total = int(probe.stdout.split()[0])
    step_names = probe.stdout.split()[1].split(",")
    assert {"data", "data-replaced", "model", "model-replaced"} <= set(step_names)
    assert total > 20

    rng = random.Random(5)
    points = sorted(rng.sample(range(1, total + 1), 20))
    for kill_at in points:
        new = 2 if current == 1 else 1
        run = run_killer(versions[new], dest, kill_at)
        assert run.returncode == -signal.SIGKILL, (kill_at, run.stderr)
        got = outputs(dest)  # loads, with its own data
        if np.array_equal(got, expected[new]):
            current = new  # killed after the commit point: the new model is complete
        else:
            np.testing.assert_array_equal(got, expected[current])
    # the next save (or clean_leftovers) removes what the kills left behind
    clean_leftovers(dest)
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.endswith(".tmp")], names
    assert len([n for n in names if n.endswith(".data")]) == 1, names
    np.testing.assert_array_equal(outputs(dest), expected[current])


def test_saving_the_same_model_three_times_does_not_grow_the_data(tmp_path: Path) -> None:
    src = model_file(tmp_path / "src.onnx", seed=3)
    dest = tmp_path / "out" / "m.onnx"
    dest.parent.mkdir()
    sizes = []
    for _ in range(3):
        written = save_onnx(src, dest, external_data=True)
        data = [p for p in written if p.suffix == ".data"]
        assert len(data) == 1
        sizes.append(data[0].stat().st_size)
        assert sorted(p.name for p in dest.parent.iterdir()) == sorted([data[0].name, "m.onnx"])
    assert sizes[0] == sizes[1] == sizes[2]
    assert sizes[0] >= 512 * 512 * 4
    np.testing.assert_array_equal(outputs(dest), outputs(src))
    # inline again: the data file goes, the model stands alone
    save_onnx(src, dest)
    assert [p.name for p in dest.parent.iterdir()] == ["m.onnx"]
    np.testing.assert_array_equal(outputs(dest), outputs(src))


def test_cli_export_three_times_keeps_one_data_file(tmp_path: Path) -> None:
    dest = tmp_path / "m.onnx"
    sizes = []
    for _ in range(3):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "cfexplore",
                "export",
                "if-forward-arg",
                "--exporter",
                "script",
                "-o",
                str(dest),
                "--external-data",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        data = sorted(tmp_path.glob("m.onnx.*.data"))
        assert len(data) == 1
        sizes.append(data[0].stat().st_size)
    assert len(set(sizes)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.onnx", data[0].name])


def test_interrupted_cli_export_leaves_the_destination_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "keep.onnx"
    dest.write_bytes(b"previous contents")
    before = dest.stat().st_mtime_ns
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cfexplore",
            "export",
            str(DATA / "hangs_on_import.py") + ":Net",
            "--exporter",
            "script",
            "-o",
            str(dest),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1].startswith("cfexplore:")
    assert "Traceback" not in err
    assert dest.read_bytes() == b"previous contents" and dest.stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]
