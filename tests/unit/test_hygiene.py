"""Import hygiene: the core never imports textual; listing variants never imports torch."""

from __future__ import annotations

import functools
import pkgutil
import subprocess
import sys
import tempfile

from tests.conftest import ROOT


def core_modules() -> list[str]:
    """Every module of the core package (from the files, so a new one is covered at once)
    and the variant registry, which listing variants imports."""
    names = ["cfexplore", "cfexplore.models"]
    for info in pkgutil.walk_packages([str(ROOT / "cfexplore")], "cfexplore."):
        if info.name != "cfexplore.__main__":
            names.append(info.name)
    return names


def run(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter from an empty folder (nothing there to import)."""
    with tempfile.TemporaryDirectory() as empty:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=empty
        )


def test_the_module_list_is_the_package() -> None:
    names = core_modules()
    assert (
        len(names) > 40 and "cfexplore.graph.typeinfer" in names and "cfexplore.cli.main" in names
    )


def test_core_never_imports_textual_or_torch() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {core_modules()!r}: importlib.import_module(m)\n"
        "bad = [m for m in ('textual', 'torch', 'onnxruntime') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    res = run(code)
    assert res.returncode == 0, res.stderr


def test_listing_variants_does_not_import_torch() -> None:
    code = (
        "import sys\nfrom cfexplore.cli.main import run\n"
        "run(['variants', '--json'])\nassert 'torch' not in sys.modules\n"
    )
    res = run(code)
    assert res.returncode == 0, res.stderr


def test_no_top_level_models_or_tui_package() -> None:
    res = run("import importlib.util as u; print(u.find_spec('models'), u.find_spec('tui'))")
    assert res.stdout.strip() == "None None"


def _textual_names(cls: type) -> set[str]:
    """Every attribute Textual's own classes in `cls`'s MRO define: class attributes and
    the `self.X = ...` assignments in their source (instance state such as `_running`).
    Reactives are left out: assigning them is their API."""
    names: set[str] = set()
    for base in cls.__mro__:
        if base.__module__.startswith("textual"):
            names |= _names_one_textual_class(base)
    return names


@functools.cache
def _names_one_textual_class(base: type) -> frozenset[str]:
    """The names one Textual class defines, parsed once per class (Widget's source is
    shared by every widget in the app)."""
    import ast
    import inspect
    import textwrap

    from textual.reactive import Reactive

    names = {n for n, v in vars(base).items() if not isinstance(v, Reactive)}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(base)))
    except (OSError, TypeError, SyntaxError):
        return frozenset(names)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
    return frozenset(names)


def _reactives(cls: type) -> set[str]:
    from textual.reactive import Reactive

    return {n for base in cls.__mro__ for n, v in vars(base).items() if isinstance(v, Reactive)}


def test_no_app_class_assigns_a_name_textual_defines() -> None:
    """Assigning e.g. `self._running` in a Screen silently breaks its message pump."""
    import ast
    import importlib
    import inspect
    import pkgutil
    import textwrap

    from textual.message_pump import MessagePump

    import cfexplore.tui as tui_pkg

    bad: list[str] = []
    modules = [m.name for m in pkgutil.walk_packages(tui_pkg.__path__, "cfexplore.tui.")]
    for mod_name in modules:
        module = importlib.import_module(mod_name)
        for cls in vars(module).values():
            if not (
                isinstance(cls, type)
                and issubclass(cls, MessagePump)
                and cls.__module__ == mod_name
            ):
                continue
            taken = _textual_names(cls) - _reactives(cls)
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
            body = tree.body[0].body  # type: ignore[attr-defined]
            methods = [n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            for node in (sub for m in methods for sub in ast.walk(m)):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and node.attr in taken
                ):
                    bad.append(f"{mod_name}.{cls.__name__}: self.{node.attr}")
    assert len(modules) > 10
    assert not bad, bad


def test_the_version_is_the_one_in_pyproject() -> None:
    import tomllib

    from cfexplore.versions import VERSION

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == VERSION
