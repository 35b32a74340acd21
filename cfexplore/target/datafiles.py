"""Input and output files in Polygraphy's JSON format, or `.npz` (numpy only).

Polygraphy (`polygraphy/json/serde.py`) writes an array as `{"array": base64(np.save
bytes), "polygraphy_class": "ndarray"}`; `--save-inputs` writes a list of feed dicts (one
per iteration), `--save-outputs` a `RunResults`: `{"lst": [[runner_name, [iteration,
...]]], "polygraphy_class": "RunResults"}`, each iteration `{"outputs": {name: {"values":
array, "polygraphy_class": "LazyArray"}}, "runtime", "runner_name", "polygraphy_class":
"IterationResult"}`. cfexplore reads and writes the same without importing Polygraphy;
a name ending in `.npz` is a plain `numpy.savez` archive (one array per name). Every write
is atomic (`fileio`); every read error is one line (CfxError).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from cfexplore.errors import CfxError
from cfexplore.fileio import atomic_write_bytes
from cfexplore.termtext import safe_text

RUNNER_NAME = "onnxrt-runner-cfexplore"
"""The runner name cfexplore's saved outputs carry (Polygraphy compares by runner pair)."""
TYPE_KEY = "polygraphy_class"
MAX_BYTES = 1 << 31
"""Files larger than this are refused before reading."""


def _fail(path: str | Path, what: str) -> CfxError:
    return CfxError(f"{safe_text(str(path), 120)}: {what}")


def _encode(array: np.ndarray) -> dict[str, str]:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return {"array": base64.b64encode(buf.getvalue()).decode(), TYPE_KEY: "ndarray"}


def _decode(value: Any, path: str | Path, name: str) -> np.ndarray:
    """An ndarray (or LazyArray) object of Polygraphy JSON as a numpy array."""
    if isinstance(value, dict) and value.get(TYPE_KEY) == "LazyArray":
        value = value.get("values")
    if not isinstance(value, dict) or value.get(TYPE_KEY) != "ndarray" or "array" not in value:
        raise _fail(path, f"{name!r} is not a Polygraphy-encoded array")
    try:
        data = base64.b64decode(str(value["array"]).encode(), validate=True)
        return np.asarray(np.load(io.BytesIO(data), allow_pickle=False))
    except Exception as exc:
        raise _fail(path, f"{name!r}: cannot decode the array ({type(exc).__name__})") from None


def _suffix(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".json", ".npz"):
        raise _fail(path, "the file must end in .json (Polygraphy's format) or .npz")
    return suffix


def _read_json(path: str | Path) -> Any:
    try:
        p = Path(path)
        if p.stat().st_size > MAX_BYTES:
            raise _fail(path, "file too large")
        return json.loads(p.read_bytes())
    except CfxError:
        raise
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror or type(exc).__name__}") from None
    except ValueError as exc:
        raise _fail(path, f"not JSON: {str(exc)[:80]}") from None


def _read_npz(path: str | Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: np.asarray(archive[k]) for k in archive.files}
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror or 'not an .npz file'}") from None
    except Exception as exc:
        raise _fail(path, f"not an .npz archive ({type(exc).__name__})") from None


def _named_arrays(obj: Any, path: str | Path) -> dict[str, np.ndarray]:
    if not isinstance(obj, dict) or TYPE_KEY in obj:
        raise _fail(path, "expected a dict of input name -> array")
    return {str(k): _decode(v, path, str(k)) for k, v in obj.items()}


def read_feeds(path: str | Path) -> dict[str, np.ndarray]:
    """The first feed dict of a Polygraphy inputs file (a list of dicts, or one dict)."""
    if _suffix(path) == ".npz":
        return _read_npz(path)
    data = _read_json(path)
    if isinstance(data, list):
        if not data:
            raise _fail(path, "the inputs file holds no feed dict")
        data = data[0]
    return _named_arrays(data, path)


def read_outputs(path: str | Path) -> dict[str, np.ndarray]:
    """The outputs of the first iteration of the first runner of a Polygraphy
    `RunResults` file (or of an `.npz`)."""
    if _suffix(path) == ".npz":
        return _read_npz(path)
    data = _read_json(path)
    if not isinstance(data, dict) or data.get(TYPE_KEY) != "RunResults":
        raise _fail(path, "not a Polygraphy RunResults file (polygraphy run --save-outputs)")
    try:
        runner, iterations = data["lst"][0]
        outputs = iterations[0]["outputs"]
    except (KeyError, IndexError, TypeError, ValueError):
        raise _fail(path, "the RunResults file holds no outputs") from None
    if not isinstance(outputs, dict):
        raise _fail(path, f"runner {str(runner)[:40]!r}: outputs are not a dict")
    return {str(k): _decode(v, path, str(k)) for k, v in outputs.items()}


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def _arrays(values: dict[str, Any], what: str) -> dict[str, np.ndarray]:
    out = {}
    for name, value in values.items():
        if isinstance(value, (list, tuple, dict)) or value is None:
            raise CfxError(f"cannot save {what} {name!r}: only tensors can be saved")
        out[name] = np.asarray(value)
    return out


def write_feeds(path: str | Path, feeds: dict[str, Any]) -> None:
    """Save one feed dict: Polygraphy's `--load-inputs` JSON (a one-element list) or .npz."""
    arrays = _arrays(feeds, "input")
    if _suffix(path) == ".npz":
        atomic_write_bytes(path, _npz_bytes(arrays))
        return
    doc = [{name: _encode(a) for name, a in arrays.items()}]
    atomic_write_bytes(path, json.dumps(doc, indent=4).encode())


def write_outputs(
    path: str | Path, outputs: dict[str, Any], runtime_s: float = 0.0, runner: str = RUNNER_NAME
) -> None:
    """Save outputs: a Polygraphy `RunResults` with one runner and one iteration, or .npz."""
    arrays = _arrays(outputs, "output")
    if _suffix(path) == ".npz":
        atomic_write_bytes(path, _npz_bytes(arrays))
        return
    iteration = {
        "outputs": {n: {"values": _encode(a), TYPE_KEY: "LazyArray"} for n, a in arrays.items()},
        "runtime": runtime_s,
        "runner_name": runner,
        TYPE_KEY: "IterationResult",
    }
    doc = {"lst": [[runner, [iteration]]], TYPE_KEY: "RunResults"}
    atomic_write_bytes(path, json.dumps(doc, indent=4).encode())


def save_run_files(files: Any, feeds: dict[str, Any], names: list[str], outs: list[Any]) -> None:
    """Write `files.save_inputs` / `files.save_outputs` (a `settings.DataFiles`) if set."""
    if files.save_inputs:
        write_feeds(files.save_inputs, feeds)
    if files.save_outputs:
        write_outputs(files.save_outputs, dict(zip(names, outs, strict=False)))


def check_feeds(loaded: dict[str, np.ndarray], declared: list[Any]) -> dict[str, np.ndarray]:
    """The loaded feeds checked against the graph inputs (`feeds.GraphInput`): the same
    names, a dtype and a rank (and static dims) the graph declares; CfxError otherwise."""
    want = {g.name: g for g in declared}
    missing = [n for n in want if n not in loaded]
    extra = [n for n in loaded if n not in want]
    if missing or extra:
        parts = [f"missing {', '.join(missing[:5])}"] if missing else []
        parts += [f"unknown {', '.join(extra[:5])}"] if extra else []
        raise CfxError(
            f"--load-inputs: the inputs do not match the model's ({'; '.join(parts)}; "
            f"the model takes {', '.join(list(want)[:8]) or 'none'})"
        )
    for name, g in want.items():
        arr = loaded[name]
        if g.kind != "tensor":
            raise CfxError(f"--load-inputs: input {name!r} is a {g.kind}; only tensors load")
        if str(arr.dtype) != g.dtype:
            raise CfxError(
                f"--load-inputs: input {name!r} is {arr.dtype}, the model declares {g.dtype}"
            )
        dims = g.dims
        if dims is not None and (
            len(dims) != arr.ndim
            or any(isinstance(d, int) and d != n for d, n in zip(dims, arr.shape, strict=True))
        ):
            raise CfxError(
                f"--load-inputs: input {name!r} has shape {list(arr.shape)}, the model "
                f"declares {g.declared()}"
            )
    return {n: loaded[n] for n in want}


def _typed(a: np.ndarray) -> str:
    return f"{a.dtype}[{','.join(map(str, a.shape))}]"


def match_loaded(
    loaded: dict[str, np.ndarray], seeded: dict[str, np.ndarray], tensors: set[str]
) -> dict[str, np.ndarray]:
    """A Python model's loaded feeds (`--load-inputs`) against the feeds cfexplore would
    send (`seeded`, by ONNX input name): the tensor inputs (`tensors`, forward()'s tensor
    parameters) to use instead of the seeded ones, each of the seeded dtype and shape; a
    knob the graph takes as an input must hold the run's value. CfxError otherwise."""
    unknown = [n for n in loaded if n not in seeded]
    missing = [n for n in seeded if n in tensors and n not in loaded]
    if unknown or missing:
        parts = [f"missing {', '.join(missing[:5])}"] if missing else []
        parts += [f"unknown {', '.join(unknown[:5])}"] if unknown else []
        raise CfxError(
            f"--load-inputs: the inputs do not match the ONNX model's ({'; '.join(parts)}; "
            f"it takes {', '.join(list(seeded)[:8]) or 'none'})"
        )
    for name, arr in loaded.items():
        want = seeded[name]
        if arr.dtype != want.dtype or arr.shape != want.shape:
            raise CfxError(
                f"--load-inputs: input {name!r} is {_typed(arr)}, the model's is {_typed(want)}"
            )
        if name not in tensors and not np.array_equal(arr, want):
            raise CfxError(
                f"--load-inputs: knob input {name!r} is {arr.tolist()} in the file, "
                f"{want.tolist()} in this run (set it with --run {name}=VALUE)"
            )
    return {n: a for n, a in loaded.items() if n in tensors}
