"""`mypy --strict` over the package as it is installed (see `mirror.py` for why a mirror).

The config comes from pyproject.toml; errors are printed with the repository's own paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mirror import ROOT, mirror, repo_paths


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cfx-mypy-") as tmp:
        pkg = mirror(Path(tmp))
        config = str(ROOT / "pyproject.toml")
        cmd = [sys.executable, "-m", "mypy", "--config-file", config, "-p", "cfexplore"]
        env = {**os.environ, "MYPYPATH": tmp}
        res = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        print(repo_paths(res.stdout + res.stderr, pkg), end="")
        return res.returncode


if __name__ == "__main__":
    raise SystemExit(main())
