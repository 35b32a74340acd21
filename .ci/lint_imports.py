"""`lint-imports` (import-linter) over the package as it is installed (see `mirror.py`).

The contracts live in pyproject.toml (`[tool.importlinter]`); the mirror comes first on
the path so grimp reads the whole package, `cfexplore.tui` and `cfexplore.models` included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mirror import ROOT, mirror, repo_paths


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cfx-imports-") as tmp:
        pkg = mirror(Path(tmp))
        shutil.copy(ROOT / "pyproject.toml", Path(tmp) / "pyproject.toml")
        exe = Path(sys.executable).parent / "lint-imports"
        cmd = [str(exe) if exe.exists() else "lint-imports", "--no-cache"]
        env = {**os.environ, "PYTHONPATH": tmp}
        res = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        print(repo_paths(res.stdout + res.stderr, pkg), end="")
        return res.returncode


if __name__ == "__main__":
    raise SystemExit(main())
