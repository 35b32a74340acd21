"""`mypy --strict` over the package as it is installed.

setuptools' `package-dir` installs `models/` as `cfexplore.models` and `tui/` as
`cfexplore.tui`; mypy cannot follow that mapping (nor the editable-install finder), so this
mirrors the installed layout in a temporary folder of symlinks, runs mypy there (config
from pyproject.toml) and prints the errors with the repository's own paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPED = {"models": "models", "tui": "tui"}
"""Folder in the repository -> subpackage name under cfexplore/."""


def mirror(into: Path) -> Path:
    """`into/cfexplore` with the repository's cfexplore/ files and the mapped folders."""
    pkg = into / "cfexplore"
    pkg.mkdir()
    for entry in (ROOT / "cfexplore").iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for folder, name in MAPPED.items():
        (pkg / name).symlink_to(ROOT / folder)
    return pkg


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cfx-mypy-") as tmp:
        pkg = mirror(Path(tmp))
        config = str(ROOT / "pyproject.toml")
        cmd = [sys.executable, "-m", "mypy", "--config-file", config, "-p", "cfexplore"]
        env = {**os.environ, "MYPYPATH": tmp}
        res = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        out = res.stdout + res.stderr
        for folder, name in MAPPED.items():
            out = out.replace(f"cfexplore/{name}/", f"{folder}/")
        print(out.replace(str(pkg) + "/", "cfexplore/"), end="")
        return res.returncode


if __name__ == "__main__":
    raise SystemExit(main())
