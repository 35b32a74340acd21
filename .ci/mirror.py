"""The installed layout of the package, as a folder of symlinks.

setuptools' `package-dir` installs `models/` as `cfexplore.models` and `tui/` as
`cfexplore.tui`; mypy and import-linter cannot follow that mapping (nor the editable-install
finder), so the CI scripts build this mirror and run the tools inside it.
"""

from __future__ import annotations

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


def repo_paths(text: str, pkg: Path) -> str:
    """Tool output with the mirror's paths turned back into the repository's own."""
    for folder, name in MAPPED.items():
        text = text.replace(f"cfexplore/{name}/", f"{folder}/")
    return text.replace(str(pkg) + "/", "cfexplore/")
