"""cfexplore: did your Python ifs and loops survive the ONNX export?

The core package: pure, UI-free, and quick to import (torch and onnxruntime are imported
inside the functions that need them, mostly in the worker process).
"""

from cfexplore.versions import VERSION as __version__


def check(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Check a model object in this process; see `cfexplore.engine.api.check` (imported lazily so
    that `import cfexplore` stays quick)."""
    from cfexplore.engine.api import check as _check

    return _check(*args, **kwargs)


__all__ = ["__version__", "check"]
