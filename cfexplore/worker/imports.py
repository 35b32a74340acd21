"""Import user code in the worker: a file as a private module, an installed module by
name, and the constructor arguments a factory needs (a Hugging Face config from a dict).

Runs in the worker process only: importing runs the user's code.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error


def import_file(path: str) -> Any:
    """Import a user file as a private module (its folder goes on sys.path)."""
    folder = str(Path(path).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    mod_name = f"cfexplore_user_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise CfxError(f"{path}: cannot import")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise CfxError(f"{path}: importing it called sys.exit({exc.code!r})") from exc
    except BaseException as exc:
        raise CfxError(f"{path}: raised on import: {short_error(exc)}", full_text(exc)) from exc
    return module


def import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except SystemExit as exc:
        raise CfxError(f"{name}: importing it called sys.exit({exc.code!r})") from exc
    except ModuleNotFoundError as exc:
        raise CfxError(f"{name}: no such module ({exc})", full_text(exc)) from exc
    except BaseException as exc:
        raise CfxError(f"{name}: raised on import: {short_error(exc)}", full_text(exc)) from exc


def config_init(factory: Any, init: dict[str, Any]) -> dict[str, Any]:
    """`--init config=...` for a class with a `config_class` (Hugging Face models): a dict
    (or a JSON file path) becomes that config object, so a model builds from a small config
    with random weights."""
    conf = init.get("config")
    config_class = getattr(factory, "config_class", None)
    if conf is None or config_class is None or not isinstance(conf, dict | str):
        return init
    try:
        obj = config_class.from_json_file(conf) if isinstance(conf, str) else config_class(**conf)
    except Exception as exc:
        raise CfxError(
            f"--init config: cannot build {config_class.__name__}: {short_error(exc)}",
            full_text(exc),
        ) from exc
    return {**init, "config": obj}
