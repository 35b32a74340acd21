"""Output paths: what `-o` (and the app's save boxes) may write, checked before any work;
write failures as one line; concurrent saves to one path serialised."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import onnx
import pytest

from cfexplore.errors import CfxError
from cfexplore.graph.safeload import load_model_safely
from cfexplore.graph.save import save_onnx
from cfexplore.outpath import DATA_SUFFIX_BYTES, check_target
from tests.builders import model_file


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfexplore", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def _refused(res: subprocess.CompletedProcess[str], *words: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "internal error" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "\x1b" not in res.stderr + res.stdout


def test_symlink_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "real.onnx"
    target.write_bytes(b"keep me")
    link = tmp_path / "link.onnx"
    link.symlink_to(target)
    res = cli("export", "if-forward-arg", "--exporter", "script", "-o", str(link))
    _refused(res, "symbolic link")
    assert link.is_symlink() and target.read_bytes() == b"keep me"


def test_fifo_directory_empty_and_missing_folder_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    cases = [
        (str(fifo), "FIFO"),
        (str(tmp_path), "directory"),
        (f"{tmp_path}/", "folder"),
        ("", "empty"),
        (str(tmp_path / "no" / "m.onnx"), "does not exist"),
        ("/proc/cfexplore-test.onnx", "not writable"),
    ]
    for path, word in cases:
        _refused(cli("export", "if-forward-arg", "--exporter", "script", "-o", path), word)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_device_node_is_refused(tmp_path: Path) -> None:
    """`-o /dev/null` as root replaced the system's /dev/null with a regular file."""
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        dev = Path("/dev/null")  # not root: the real one cannot be replaced anyway
    before = os.lstat(dev)
    _refused(cli("export", "if-forward-arg", "--exporter", "script", "-o", str(dev)), "device")
    after = os.lstat(dev)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_matrix_markdown_into_a_missing_folder_is_refused_before_the_sweep(
    tmp_path: Path,
) -> None:
    # The matrix itself takes minutes: a refusal within the timeout is one before the work.
    res = cli("matrix", "--markdown", str(tmp_path / "missing" / "m.md"), timeout=60)
    _refused(res, "--markdown", "does not exist")


def test_name_too_long_is_refused_up_front(tmp_path: Path) -> None:
    name = "a" * 250 + ".onnx"  # fits alone; with the data file's suffix it does not
    with pytest.raises(CfxError, match="too long"):
        check_target(tmp_path / name, "-o", extra_suffix=DATA_SUFFIX_BYTES)
    assert check_target(tmp_path / name, "-o") == tmp_path / name
    with pytest.raises(CfxError, match="too long"):
        check_target(tmp_path / ("b" * 300 + ".onnx"))


def test_a_250_character_name_saves(tmp_path: Path) -> None:
    """The temp file's name used to be `.<name>.<random>.tmp`: too long for the folder."""
    src = model_file(tmp_path / "src.onnx", 0)
    dest = tmp_path / ("c" * 250 + ".onnx")
    save_onnx(src, dest)
    assert load_model_safely(dest).graph.node


def test_escapes_in_paths_never_reach_the_terminal(tmp_path: Path) -> None:
    evil = tmp_path / "e\x1b]0;pwned\x07" / "m\x1b[31m.onnx"
    res = cli("export", "if-forward-arg", "--exporter", "script", "-o", str(evil))
    _refused(res, "\\x1b")


def test_write_failure_is_one_line(tmp_path: Path) -> None:
    """A failing write (here: the disk fills while the model is written) is one `CfxError`
    line naming the file, and nothing is left behind."""
    import errno

    src = model_file(tmp_path / "src.onnx", 0)
    dest = tmp_path / "out.onnx"

    def disk_full(step: str) -> None:
        if step == "data":
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(CfxError, match="no space left") as err:
        save_onnx(src, dest, external_data=True, fault=disk_full)
    assert "\n" not in str(err.value) and str(dest.parent) in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.onnx"]


def test_concurrent_saves_to_one_path_commit_a_whole_model(tmp_path: Path) -> None:
    """Two saves at once: without a lock one's clean-up removed the data file the other
    was about to commit."""
    sources = [model_file(tmp_path / f"src{i}.onnx", i) for i in range(2)]
    out = tmp_path / "out" / "same.onnx"
    out.parent.mkdir()
    errors: list[BaseException] = []
    for _ in range(40):
        barrier = threading.Barrier(2)

        def save(src: Path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                save_onnx(src, out, external_data=True)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=save, args=(s,)) for s in sources]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        model = onnx.load(str(out))  # reads the data file it names: it must be there
        assert model.graph.initializer[0].raw_data
        data = [p for p in out.parent.iterdir() if p.name.endswith(".data")]
        assert len(data) == 1, data
