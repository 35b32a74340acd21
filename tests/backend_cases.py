"""onnx's own backend node test cases, collected once per test run.

`collect_testcases` builds all ~1,900 cases (seconds: every case's expected outputs are
computed), and it appends to module state on each call; the tests that want a few of them
share this one collection instead.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any


@functools.cache
def all_cases() -> dict[str, Any]:
    """Every node test case of the installed onnx, by name."""
    import numpy as np
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the generators compute overflowing references
        return {c.name: c for c in collect_testcases(None)}


def case(name: str) -> Any:
    """One case by name (KeyError if this onnx has no such case)."""
    return all_cases()[name]
