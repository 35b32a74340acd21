"""Flatten a model's outputs the way torch's pytree does, naming every leaf.

PyTorch returns tensors, tuples, lists, dicts, ModelOutputs, namedtuples, `None` and
objects such as caches; an ONNX model returns a flat list. Both are compared leaf by leaf
in pytree order (what every exporter flattens by), each leaf named by its path (`logits`,
`cache.0.1`, `[1]`). A leaf that is neither a tensor nor a Python number cannot be compared;
it is kept, by name, as `NotComparable` so that it is reported, never dropped. `None`
leaves are no output at all (the exporters drop them too).

Runs in the worker process (or in-process for the Python API): imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cfexplore.analysis import diffing
from cfexplore.analysis.tolerance import Tolerances
from cfexplore.results import DiffResult, TensorDiff


@dataclass(frozen=True)
class NotComparable:
    """An output leaf that is not a tensor (e.g. a cache object with no pytree
    registration): reported by name and type, never compared."""

    type_name: str

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _key_text(key: Any) -> str:
    """One pytree key as a path part: a dict key or attribute name, or an index."""
    for attr in ("key", "name", "idx"):
        if hasattr(key, attr):
            return str(getattr(key, attr))
    return str(key)


def leaf_name(path: tuple[Any, ...]) -> str:
    """`("logits",)` -> `logits`; `(0,)` -> `[0]`; `("cache", 0, 1)` -> `cache.0.1`;
    `(1, "a")` -> `[1].a`; the empty path (a single tensor) -> `output`."""
    if not path:
        return "output"
    parts = [_key_text(k) for k in path]
    first = path[0]
    head = f"[{parts[0]}]" if hasattr(first, "idx") and not hasattr(first, "key") else parts[0]
    return ".".join([head, *parts[1:]])


def flatten_outputs(out: Any, keep_none: bool = False) -> list[tuple[str, Any]]:
    """(name, value) per leaf of `out` in pytree order: numpy arrays for tensors and
    Python numbers, `NotComparable` for anything else. `None` leaves are left out unless
    `keep_none` (TorchScript exports keep them, as empty optional outputs)."""
    import torch
    from torch.utils import _pytree as pytree

    leaves, _spec = pytree.tree_flatten_with_path(out)
    flat: list[tuple[str, Any]] = []
    for path, leaf in leaves:
        name = leaf_name(tuple(path))
        if leaf is None:
            if keep_none:
                flat.append((name, None))
            continue
        if isinstance(leaf, torch.Tensor):
            flat.append((name, leaf.detach().cpu().numpy()))
        elif isinstance(leaf, bool | int | float):
            flat.append((name, np.asarray(leaf)))
        else:
            flat.append((name, NotComparable(type(leaf).__name__)))
    return flat


def align(leaves: list[tuple[str, Any]], got: list[Any] | None) -> list[tuple[str, Any]]:
    """The PyTorch leaves to match against the ONNX outputs `got`: with the `None` leaves
    when ONNX has an empty optional (None) at each of their places (a TorchScript export
    keeps them), without them otherwise (trace and dynamo drop them)."""
    if (
        got is not None
        and len(leaves) == len(got)
        and all(g is None for (_, v), g in zip(leaves, got, strict=True) if v is None)
    ):
        return leaves
    return [(n, v) for n, v in leaves if v is not None]


def count_sentence(n_torch: int, n_onnx: int) -> str:
    """`PyTorch returns 3 outputs, ONNX 1` (empty when the counts agree)."""
    if n_torch == n_onnx:
        return ""

    def outputs(n: int) -> str:
        return f"{n} output{'s' if n != 1 else ''}"

    return f"PyTorch returns {outputs(n_torch)}, ONNX {n_onnx}"


def compare_all(
    names: list[str],
    ref: list[Any],
    got: list[Any],
    rtol: float,
    atol: float,
    equal_nan: bool = False,
    tol: Tolerances | None = None,
) -> list[Any]:
    """diffing.compare for each output position (a missing side is reported, not dropped).

    Outputs are compared as given: sequences (lists) element-wise, `None` (an empty
    optional) as a value; NaN equals NaN only with `equal_nan`. `tol` (when given) sets
    the check mode and per-output tolerances instead of rtol/atol/equal_nan.
    """
    tol = tol or Tolerances(rtol, atol, equal_nan)
    out = []
    for i in range(max(len(ref), len(got))):
        r = ref[i] if i < len(ref) else diffing.MISSING
        g = got[i] if i < len(got) else diffing.MISSING
        name = names[i] if i < len(names) else f"output{i}"
        rt, at = tol.for_output(name)
        out.append(diffing.compare(i, name, r, g, rt, at, tol.equal_nan, tol.mode))
    return out


def same_leaves(
    a: list[tuple[str, Any]], b: list[tuple[str, Any]], rtol: float, atol: float
) -> bool:
    """Whether two PyTorch results agree: the same number of leaves, values within
    tolerance (a ModelOutput and the tuple of the same tensors agree: ONNX cannot tell the
    container apart); two leaves that cannot be compared agree when of the same type."""
    if len(a) != len(b):
        return False
    plain_a, plain_b = [], []
    for (_, x), (_, y) in zip(a, b, strict=True):
        if isinstance(x, NotComparable) or isinstance(y, NotComparable):
            if x != y:
                return False
            continue
        plain_a.append(x)
        plain_b.append(y)
    return diffing.same(plain_a, plain_b, rtol, atol)


def not_comparable(odd: list[tuple[str, Any]], start: int) -> list[Any]:
    """A failing row per PyTorch output leaf that is not a tensor (reported by name)."""
    return [
        TensorDiff(
            start + i,
            name,
            None,
            value.type_name,
            None,
            None,
            None,
            None,
            0,
            0,
            False,
            note=f"not comparable: PyTorch returns a {value.type_name}, not a tensor (no "
            "pytree registration flattens it)",
        )
        for i, (name, value) in enumerate(odd)
    ]


def structure_note(leaves: list[tuple[str, Any]], odd: list[tuple[str, Any]], n_onnx: int) -> str:
    """In words: an output-count difference and the outputs that cannot be compared."""
    parts = []
    counted = count_sentence(len(leaves), n_onnx)
    if counted:
        parts.append(counted)
    if odd:
        what = ", ".join(f"{n} ({v.type_name})" for n, v in odd[:3])
        parts.append(f"not comparable: {what}")
    return "; ".join(parts)


def classify(result: DiffResult) -> str | None:
    """Where a disagreement comes from, by the three-way check.

    PyTorch differs from both ONNX backends -> `export`; the two ONNX backends disagree
    (or ONNX Runtime alone differs from PyTorch) -> `runtime`; all agree -> None.
    """
    ort_ok = result.passed
    ref_ok = bool(result.reference) and all(o.passed for o in result.reference)
    backends_agree = bool(result.ort_vs_reference) and all(
        o.passed for o in result.ort_vs_reference
    )
    if ort_ok and ref_ok:
        return None
    if not ort_ok and not ref_ok and backends_agree:
        return "export"
    return "runtime"
