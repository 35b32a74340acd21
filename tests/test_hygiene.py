"""Import hygiene: the core never imports textual; listing variants never imports torch."""

from __future__ import annotations

import subprocess
import sys
import tempfile

CORE = [
    "cfexplore",
    "cfexplore.cli",
    "cfexplore.engine",
    "cfexplore.graph",
    "cfexplore.graph_render",
    "cfexplore.diffing",
    "cfexplore.verdicts",
    "cfexplore.report",
    "cfexplore.runtime",
    "cfexplore.worker",
    "cfexplore.targets",
    "cfexplore.models",
    "cfexplore.errortext",
    "cfexplore.compare",
    "cfexplore.reference",
    "cfexplore.sourcemap",
    "cfexplore.audit",
]


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )


def test_core_never_imports_textual_or_torch() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {CORE!r}: importlib.import_module(m)\n"
        "bad = [m for m in ('textual', 'torch', 'onnxruntime') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    res = run(code)
    assert res.returncode == 0, res.stderr


def test_listing_variants_does_not_import_torch() -> None:
    code = (
        "import sys\nfrom cfexplore.cli import run\n"
        "run(['variants', '--json'])\nassert 'torch' not in sys.modules\n"
    )
    res = run(code)
    assert res.returncode == 0, res.stderr


def test_no_top_level_models_or_tui_package() -> None:
    res = run("import importlib.util as u; print(u.find_spec('models'), u.find_spec('tui'))")
    assert res.stdout.strip() == "None None"
