"""User models as users write them: example_inputs() forms, knob discovery across the
module tree, outputs that are not one tensor, the no-knob baseline, per-exporter failures,
the Python API and importable module targets.

Every verdict asserted here is also computed independently by `oracle_verdict`: a plain
`torch.onnx.export`, a plain ONNX Runtime session and eager PyTorch, compared at every
swept value. The user files live in tests/data/user_models/.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from cfexplore import check
from cfexplore.errors import CfxError
from cfexplore.results import CheckReport, DiffResult
from cfexplore.settings import RunSettings
from tests.conftest import DATA, ROOT

MODELS = DATA / "user_models"
PKG = "tests.data.user_models"
RTOL, ATOL = 1e-3, 1e-5
"""cfexplore's default tolerances: an element passes when |onnx - torch| <= atol + rtol*|torch|."""


# --------------------------------------------------------------------------- the oracle


def _leaves(out: Any) -> list[Any]:
    """Eager outputs in the order the exporters flatten them; `None` is no output, tensors
    and Python numbers become arrays, anything else is kept as is (it never equals an
    ONNX output)."""
    if out is None:
        return []
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    if isinstance(out, bool | int | float):
        return [np.asarray(out)]
    if isinstance(out, tuple | list):
        return [leaf for item in out for leaf in _leaves(item)]
    if isinstance(out, dict):
        return [leaf for item in out.values() for leaf in _leaves(item)]
    return [out]


def _same(got: Sequence[Any] | None, want: Sequence[Any]) -> bool:
    """Same number of outputs, each an array of the same shape, within tolerance."""
    if got is None or len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if not isinstance(g, np.ndarray) or not isinstance(w, np.ndarray):
            return False
        if g.shape != w.shape or not np.isclose(g, w, rtol=RTOL, atol=ATOL).all():
            return False
    return True


def plain_export(model: torch.nn.Module, exporter: str, call: dict[str, Any], path: Path) -> None:
    """`torch.onnx.export` as a user calls it, with forward()'s arguments `call` by name.

    script: positional arguments up to the last one given (defaults filled in), as
    TorchScript needs; trace: keyword arguments; dynamo: keyword arguments, then save.
    Input names are given so that ONNX inputs can be fed by parameter name.
    """
    sig = inspect.signature(model.forward)
    with (
        torch.no_grad(),
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        if exporter == "script":
            params = list(sig.parameters.values())
            last = max(i for i, p in enumerate(params) if p.name in call)
            args = [call.get(p.name, p.default) for p in params[: last + 1]]
            names = [p.name for p, a in zip(params, args, strict=False) if a is not None]
            torch.onnx.export(
                torch.jit.script(model), tuple(args), str(path), dynamo=False, input_names=names
            )
        elif exporter == "trace":
            tensors = [n for n, v in call.items() if isinstance(v, torch.Tensor)]
            torch.onnx.export(
                model, (), str(path), kwargs=dict(call), dynamo=False, input_names=tensors
            )
        elif exporter == "dynamo":
            program = torch.onnx.export(model, (), kwargs=dict(call), dynamo=True)
            assert program is not None
            program.save(str(path))
        else:
            raise AssertionError(exporter)


ORT_DTYPES = {"tensor(bool)": np.bool_, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def _run_onnx(session: Any, call: dict[str, Any]) -> list[Any] | None:
    """ONNX Runtime on `call`: every graph input fed by its name (a knob only if the graph
    has an input of that name); None when it cannot be fed or run."""
    feeds: dict[str, np.ndarray] = {}
    for inp in session.get_inputs():
        assert inp.name in call, f"ONNX input {inp.name!r} is no forward() argument"
        value = call[inp.name]
        if value is None:
            return None
        if isinstance(value, torch.Tensor):
            feeds[inp.name] = value.detach().numpy()
        else:
            feeds[inp.name] = np.array(value, dtype=ORT_DTYPES.get(inp.type, np.int64))
    try:
        return list(session.run(None, feeds))
    except Exception:
        return None


@contextlib.contextmanager
def _attr(model: torch.nn.Module, dotted: str, value: Any) -> Iterator[None]:
    """Set attribute `dotted` (`block.use_skip`) on the eager submodule, then restore."""
    path, _, name = dotted.rpartition(".")
    owner = model.get_submodule(path) if path else model
    had = name in vars(owner)
    old = vars(owner).get(name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if had:
            setattr(owner, name, old)
        else:
            delattr(owner, name)  # it was a class attribute: drop the instance shadow


def oracle_verdict(
    model: torch.nn.Module,
    exporter: str,
    call: dict[str, Any],
    tmp_path: Path,
    knob: str | None = None,
    values: Sequence[Any] = (),
    where: str = "forward-arg",
    errors: list[str] | None = None,
) -> str:
    """A knob's verdict, computed with plain torch.onnx.export, ONNX Runtime and eager.

    `call` is forward()'s arguments at export time. `where`:
    - `forward-arg`: `values` are the knob's values, passed to forward() (and fed to ONNX
      only if the graph has an input of that name);
    - `attr`: `values` are set on the eager submodule; the same ONNX model runs;
    - `data`: `values` are other `call` dicts (driven inputs);
    - `baseline` (no knob): `values` are `call` dicts for more seeds; any difference is a
      mismatch.
    The export value is always compared too. failed: the export or the ORT load fails;
    mismatch: ONNX != eager at the export value; no-effect: eager gives the same output
    for every value; preserved: ONNX matches eager at every value; else frozen. `errors`
    collects `export: ...` / `ort-load: ...` messages.
    """
    model.eval()
    import onnxruntime as ort

    if where == "forward-arg" and knob not in call:  # exported at its default value
        call = {**call, knob: inspect.signature(model.forward).parameters[knob].default}
    path = tmp_path / f"oracle-{exporter}-{len(list(tmp_path.iterdir()))}.onnx"
    try:
        plain_export(model, exporter, call, path)
    except Exception as exc:
        if errors is not None:
            errors.append(f"export: {type(exc).__name__}: {exc}")
        return "failed"
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        if errors is not None:
            errors.append(f"ort-load: {type(exc).__name__}: {exc}")
        return "failed"

    runs: list[tuple[dict[str, Any], Any]] = []  # (forward() arguments, attribute value)
    if where == "forward-arg":
        assert knob is not None
        for v in dict.fromkeys([call[knob], *values]):
            runs.append(({**call, knob: v}, None))
    elif where == "attr":
        assert knob is not None
        path_, _, name = knob.rpartition(".")
        current = getattr(model.get_submodule(path_) if path_ else model, name)
        runs = [(call, v) for v in dict.fromkeys([current, *values])]
    elif where in ("data", "baseline"):
        runs = [(call, None), *[(c, None) for c in values]]
    else:
        raise AssertionError(where)

    eager: list[list[Any]] = []
    onnx_out: list[list[Any] | None] = []
    for args, attr_value in runs:
        ctx = _attr(model, knob, attr_value) if where == "attr" else contextlib.nullcontext()
        with ctx, torch.no_grad():
            eager.append(_leaves(model(**args)))
        onnx_out.append(_run_onnx(session, args))
    match = [_same(o, e) for o, e in zip(onnx_out, eager, strict=True)]
    if where == "baseline":
        return "preserved" if all(match) else "mismatch"
    if not match[0]:
        return "mismatch"
    if all(_same(e, eager[0]) for e in eager[1:]):
        return "no-effect"
    return "preserved" if all(match) else "frozen"


# --------------------------------------------------------------------------- helpers


def run_cli(
    *args: str, cwd: Path = ROOT, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`cfexplore ARGS` in a real subprocess."""
    env = {**os.environ, "COLUMNS": "200"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-m", "cfexplore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def check_json_cli(*args: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    """`cfexplore check ARGS --json` in a subprocess: (exit code, the JSON document)."""
    res = run_cli("check", *args, "--json", **kw)
    assert res.returncode in (0, 1), res.stderr
    return res.returncode, json.loads(res.stdout)


CheckJson = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture(scope="module")
def check_json() -> Iterator[CheckJson]:
    """`cfexplore check ARGS --json` without the process start: the real parser, settings
    and JSON document of `cmd_check`, on one worker shared by this module's tests (each
    loads its own target), so torch is imported once rather than once per test. A user
    file with process-wide side effects (custom symbolics, a crash) uses `check_json_cli`."""
    from cfexplore.cli.common import settings_from_args
    from cfexplore.cli.parser import build_parser
    from cfexplore.engine.session import Session
    from cfexplore.results import EXPORTERS
    from cfexplore.target.targets import parse_target
    from cfexplore.worker.client import WorkerClient

    client = WorkerClient()

    def run(*args: str) -> tuple[int, dict[str, Any]]:
        ns = build_parser().parse_args(["check", *args, "--json"])
        spec = parse_target(ns.target, ns.init, ns.input, ns.weights, ns.values)
        exporters = EXPORTERS if ns.exporter == "all" else (ns.exporter,)
        session = Session.open(spec, client=client, timeout=ns.timeout)
        try:
            report = session.check(exporters, settings_from_args(ns))
        finally:
            session.close()
        doc = json.loads(json.dumps(report.to_json_dict(), default=str))
        return (1 if report.bad else 0), doc

    yield run
    client.close()


def knob_json(doc: dict[str, Any], exporter: str, name: str) -> dict[str, Any]:
    res = next(r for r in doc["results"] if r["exporter"] == exporter)
    return next(k for k in res["knobs"] if k["name"] == name)


def user_file(name: str) -> Any:
    """A tests/data/user_models module, imported in this process (for the oracle)."""
    return importlib.import_module(f"{PKG}.{name}")


def built(factory: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """The model as cfexplore builds it: weights from seed 0, eval mode."""
    torch.manual_seed(0)
    return factory().eval()


def example(mod: Any, seed: int = 0) -> Any:
    """`example_inputs()` after `torch.manual_seed(seed)`, as cfexplore calls it."""
    torch.manual_seed(seed)
    return mod.example_inputs()


def knob_verdict(report: CheckReport, exporter: str, name: str) -> Any:
    res = next(r for r in report.results if r.exporter == exporter)
    return next(k for k in res.knobs if k.name == name)


def diff_in_process(
    model: torch.nn.Module, args: Any, exporter: str, run: dict[str, Any] | None = None
) -> DiffResult:
    """One export and one seeded diff, in this process, as `check()` runs them; `run`
    changes knobs after the export (`cfexplore diff --run`)."""
    from cfexplore.engine.api import InProcessClient
    from cfexplore.engine.session import Session
    from cfexplore.worker.loading import Loaded
    from cfexplore.worker.runtime import Runtime, default_workdir

    runtime = Runtime(default_workdir())
    client = InProcessClient(runtime)
    try:
        loaded = Loaded.from_module(model, args, None, type(model).__name__)
        runtime.loaded = loaded
        session = Session(client, loaded.spec, loaded.info())
        assert session.export(exporter).ok
        return session.diff(exporter, RunSettings(values=run))
    finally:
        client.close()


def line_of(path: Path, text: str) -> int:
    """The 1-based line of `path` holding `text` (once)."""
    found = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(found) == 1, (path, text, found)
    return found[0]


def x24(seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(2, 4)


# ----------------------------------------------------------- 1. example_inputs() forms


@pytest.mark.parametrize(
    ("name", "export_value"),
    [
        ("ex_tuple_bool", True),  # (x, True)
        ("ex_dict_order", False),  # {"mask": 2x1, "flag": False, "x": 2x4}
        ("ex_args_kwargs", True),  # ((x,), {"flag": True})
    ],
)
def test_example_inputs_forms(
    check_json: CheckJson, name: str, export_value: bool, tmp_path: Path
) -> None:
    rc, doc = check_json(f"{MODELS / name}.py:Net", "--exporter", "script")
    knob = knob_json(doc, "script", "flag")
    assert knob["where"] == "forward-arg"
    assert knob["export_value"] is export_value
    assert knob["values"] == [False, True]
    assert doc["results"][0]["status"] == "ok", doc["results"][0]["error"]

    mod = user_file(name)
    got = example(mod)
    if isinstance(got, dict):
        call = dict(got)
    elif name == "ex_args_kwargs":
        call = {"x": got[0][0], **got[1]}
    else:
        call = {"x": got[0], "flag": got[1]}
    if name == "ex_dict_order":
        # the dict is not in forward() order, and swapping its tensors cannot run
        assert list(call) != list(inspect.signature(mod.Net.forward).parameters)[1:]
        with pytest.raises(RuntimeError):
            built(mod.Net)(call["mask"], call["x"])
    expected = oracle_verdict(built(mod.Net), "script", call, tmp_path, "flag", [False, True])
    assert expected == "preserved"
    assert knob["verdict"] == expected, knob["explanation"]
    assert rc == 0


@pytest.mark.slow
def test_example_dict_with_unknown_key_is_refused_before_any_export() -> None:
    start = time.monotonic()
    res = run_cli("check", f"{MODELS / 'ex_unknown_key.py'}:Net", "--exporter", "all", "--json")
    elapsed = time.monotonic() - start
    assert res.returncode == 2
    assert elapsed < 60
    assert res.stdout == ""
    err = res.stderr.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert "'attention_mask'" in err
    assert "parameters: x, flag" in err


@pytest.mark.slow
def test_defaulted_parameter_not_given(check_json: CheckJson, tmp_path: Path) -> None:
    """forward(x, mask=None, flag=False) with example_inputs() -> (x,): mask keeps its
    default; script fails as plain script export does (no args may be None)."""
    rc, doc = check_json(f"{MODELS / 'ex_defaulted.py'}:Net", "--exporter", "all")
    assert "KeyError" not in json.dumps(doc)
    mod = user_file("ex_defaulted")
    call = {"x": example(mod)[0], "flag": False}
    for exporter in ("script", "trace", "dynamo"):
        knob = knob_json(doc, exporter, "flag")
        assert knob["export_value"] is False
        errors: list[str] = []
        expected = oracle_verdict(
            built(mod.Net), exporter, call, tmp_path, "flag", [False, True], errors=errors
        )
        assert knob["verdict"] == expected, (exporter, knob["explanation"])
        if exporter == "script":
            assert expected == "failed"
            assert "no args may be None" in errors[0]
            res = next(r for r in doc["results"] if r["exporter"] == "script")
            assert res["status"] == "failed"
            assert "no args may be None" in res["error"]
        else:
            assert expected == "frozen"
    assert rc == 1


# ----------------------------------------------------------- 2. knob discovery


def test_submodule_knob_is_named_by_its_path(tmp_path: Path) -> None:
    mod = user_file("knob_block")
    model = built(mod.Net)
    x = example(mod)
    report = check(model, (x,), exporters=["script"])
    knob = knob_verdict(report, "script", "block.use_skip")
    assert knob.where == "instance-attr"
    assert knob.export_value is True
    assert knob.source_file == mod.__file__
    assert knob.source_line == line_of(Path(mod.__file__), "if self.use_skip:")
    assert model.block.use_skip is True  # restored after the sweep
    expected = oracle_verdict(
        model, "script", {"x": x}, tmp_path, "block.use_skip", [False, True], where="attr"
    )
    assert expected == "frozen"
    assert knob.verdict == expected, knob.explanation


def test_knobs_inherited_from_a_base_class_in_another_file(
    check_json: CheckJson, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, doc = check_json(f"{MODELS / 'knob_inherit.py'}:Net", "--exporter", "trace")
    gate = knob_json(doc, "trace", "use_gate")
    twice = knob_json(doc, "trace", "scale_twice")
    assert gate["where"] == "instance-attr"  # set in GatedBase.__init__
    assert twice["where"] == "class-attr"  # GatedBase.scale_twice = False
    assert (gate["export_value"], twice["export_value"]) == (True, False)
    base = MODELS / "knob_base.py"
    for k, test in ((gate, "if self.use_gate:"), (twice, "if self.scale_twice:")):
        assert k["source"] == f"{base}:{line_of(base, test)}"
        assert (
            f"The frozen condition is at knob_base.py:{line_of(base, test)}." in (k["explanation"])
        )

    monkeypatch.syspath_prepend(str(MODELS))  # the user file imports `knob_base` plainly
    mod = importlib.import_module("knob_inherit")
    model = built(mod.Net)
    x = example(mod)
    for k in (gate, twice):
        expected = oracle_verdict(
            model, "trace", {"x": x}, tmp_path, k["name"], [False, True], where="attr"
        )
        assert expected == "frozen"
        assert k["verdict"] == expected, k["explanation"]
    assert "scale_twice" not in vars(model) and type(model).scale_twice is False
    assert rc == 1


def test_optional_bool_parameters(tmp_path: Path) -> None:
    mod = user_file("knob_optional")
    model = built(mod.Net)
    x = example(mod)
    report = check(model, (x,), exporters=["trace"])
    for name in ("a", "b"):  # Optional[bool] and bool | None
        knob = knob_verdict(report, "trace", name)
        assert knob.where == "forward-arg"
        assert knob.values == [None, False, True]
        assert knob.export_value is None
        assert [r.value for r in knob.rows] == [None, False, True]
        expected = oracle_verdict(model, "trace", {"x": x}, tmp_path, name, [None, False, True])
        assert expected == "frozen"
        assert knob.verdict == expected, knob.explanation
    # knobs=[...] restricts the sweep to the knobs named
    only_b = check(model, (x,), exporters=["trace"], knobs=["b"])
    assert list(only_b.verdicts()["trace"]) == ["b"]
    with pytest.raises(KeyError):
        only_b.verdict("a")


def test_int_knob_values_on_the_command_line(check_json: CheckJson, tmp_path: Path) -> None:
    rc, doc = check_json(
        f"{MODELS / 'knob_int.py'}:Net", "--exporter", "script", "--values", "n=1,3"
    )
    knob = knob_json(doc, "script", "n")
    assert knob["values"] == [1, 3]
    assert [row["value"] for row in knob["sweep"]] == [1, 3]
    assert knob["export_value"] == 1
    mod = user_file("knob_int")
    expected = oracle_verdict(built(mod.Net), "script", {"x": example(mod)}, tmp_path, "n", [1, 3])
    assert expected == "preserved"
    assert knob["verdict"] == expected, knob["explanation"]
    assert "--values=n=1,3" in doc["command"]
    assert rc == 0


def test_int_knob_values_in_the_api(tmp_path: Path) -> None:
    mod = user_file("knob_int")
    model = built(mod.Net)
    x = x24()
    default = knob_verdict(check(model, (x,), exporters=["trace"]), "trace", "n")
    assert default.values == [0, 1, 2]  # {0, 1, 2, v, v+1} with v = 1
    report = check(model, (x,), exporters=["trace"], values={"n": [1, 3]})
    knob = knob_verdict(report, "trace", "n")
    assert knob.values == [1, 3]
    assert [r.value for r in knob.rows] == [1, 3]
    for k, vals in ((default, [0, 1, 2]), (knob, [1, 3])):
        expected = oracle_verdict(model, "trace", {"x": x}, tmp_path, "n", vals)
        assert expected == "frozen"
        assert k.verdict == expected, k.explanation


def test_values_without_the_export_value_still_give_the_true_verdict(tmp_path: Path) -> None:
    """values={"n": [3, 4]} with the export at n=1: ONNX (script keeps the loop) matches
    PyTorch at 1, 3 and 4. Either the export value is diffed as well and the verdict is
    the true one, or the values are refused with a message naming the export value."""
    mod = user_file("knob_int")
    model = built(mod.Net)
    x = x24()
    expected = oracle_verdict(model, "script", {"x": x}, tmp_path, "n", [3, 4])
    assert expected == "preserved"
    try:
        report = check(model, (x,), exporters=["script"], values={"n": [3, 4]})
    except CfxError as exc:
        assert "n" in str(exc) and "1" in str(exc), exc
        return
    knob = knob_verdict(report, "script", "n")
    assert "could not run" not in knob.explanation
    assert knob.verdict == expected, knob.explanation


def test_data_dependent_if_in_user_code(tmp_path: Path) -> None:
    mod = user_file("data_if")
    model = built(mod.Net)
    x = example(mod)
    line = line_of(Path(mod.__file__), "if y.sum() > 0:")
    name = f"data@data_if.py:{line}"

    # the oracle's inputs: the export input, then driven copies until eager takes the
    # other branch of `if y.sum() > 0`
    def then(t: torch.Tensor) -> bool:
        with torch.no_grad():
            return bool(model.fc(t).sum() > 0)

    drives = [-x, x * 100, x * -100, x.abs(), -x.abs(), x * 0.01]
    other = next(d for d in drives if then(d) != then(x))
    export_path = "then" if then(x) else "else"

    report = check(model, (x,))
    expect = {"script": "preserved", "trace": "frozen", "dynamo": "failed"}
    for exporter, want in expect.items():
        knob = knob_verdict(report, exporter, name)
        assert knob.where == "tensor-data"
        assert knob.source_line == line
        errors: list[str] = []
        expected = oracle_verdict(
            model, exporter, {"x": x}, tmp_path, values=[{"x": other}], where="data", errors=errors
        )
        assert expected == want, (exporter, errors)
        assert knob.verdict == expected, (exporter, knob.explanation)
        if want != "failed":  # eager took both branches in the sweep
            assert {r.path for r in knob.rows} == {"then", "else"}
        if exporter == "trace":
            assert f"recorded only the branch taken for the example input ({export_path})" in (
                knob.explanation
            )
            assert f"data_if.py:{line}" in knob.explanation
        if exporter == "dynamo":
            assert "GuardOnDataDependentSymNode" in errors[0]
            res = next(r for r in report.results if r.exporter == "dynamo")
            assert res.status == "failed"
            assert "GuardOnDataDependentSymNode" in (res.error or "")


# ----------------------------------------------------------- 3. outputs


@pytest.mark.parametrize(
    ("cls", "exporter", "names"),
    [
        ("DictWithNone", "trace", ["a", "c"]),  # {"a": t, "b": None, "c": t2}
        ("TupleWithNone", "dynamo", ["[0]", "[2]"]),  # (t, None, t2)
        ("ListOut", "trace", ["[0]", "[1]"]),  # [t1, t2]
    ],
)
def test_none_and_list_outputs(cls: str, exporter: str, names: list[str], tmp_path: Path) -> None:
    mod = user_file("outputs")
    model = built(getattr(mod, cls))
    x = x24()
    report = check(model, (x,), exporters=[exporter])
    assert report.no_knobs
    res = report.results[0]
    assert res.knobs == [] and res.baseline is not None
    later = [{"x": x24(s)} for s in (1, 2)]
    expected = oracle_verdict(model, exporter, {"x": x}, tmp_path, values=later, where="baseline")
    assert expected == "preserved"
    assert res.baseline.verdict == expected, res.baseline.explanation
    assert report.verdicts() == {exporter: {"(baseline)": "preserved"}}
    # compared leaf by leaf: None is no output, a list is one output per element
    d = diff_in_process(built(getattr(mod, cls)), (x,), exporter)
    assert d.passed
    assert [o.name for o in d.outputs] == names
    assert d.output_counts == [2, 2]
    assert d.structure == ""


@pytest.mark.parametrize(
    ("export_value", "words"),
    [(False, "2 outputs, ONNX 1"), (True, "1 output, ONNX 2")],
    ids=["exported-with-1", "exported-with-2"],
)
def test_output_count_change_is_said_in_words(
    export_value: bool, words: str, tmp_path: Path
) -> None:
    mod = user_file("outputs")
    model = built(mod.CountByFlag)
    x = x24()
    report = check(model, (x, export_value), exporters=["trace"])
    knob = knob_verdict(report, "trace", "flag")
    expected = oracle_verdict(
        model, "trace", {"x": x, "flag": export_value}, tmp_path, "flag", [False, True]
    )
    assert expected == "frozen"
    assert knob.verdict == expected, knob.explanation
    assert f"PyTorch returns {words}" in knob.explanation
    bad = next(r for r in knob.rows if r.value is not export_value)
    assert bad.note == f"PyTorch returns {words}"
    d = diff_in_process(
        built(mod.CountByFlag), (x, export_value), "trace", {"flag": not export_value}
    )
    assert d.structure == f"PyTorch returns {words}"
    assert d.output_counts == ([2, 1] if export_value is False else [1, 2])
    assert not d.passed


def test_non_tensor_output_is_reported_not_dropped(tmp_path: Path) -> None:
    mod = user_file("outputs")
    model = built(mod.ObjectOut)
    x = x24()
    report = check(model, (x,), exporters=["trace"])
    baseline = report.results[0].baseline
    assert baseline is not None
    later = [{"x": x24(s)} for s in (1, 2)]
    expected = oracle_verdict(model, "trace", {"x": x}, tmp_path, values=later, where="baseline")
    assert expected == "mismatch"
    assert baseline.verdict == expected, baseline.explanation
    for row in baseline.rows:
        assert not row.passed
        assert "not comparable: info (Info)" in row.note
    assert "info (Info)" in baseline.explanation
    assert report.bad
    d = diff_in_process(built(mod.ObjectOut), (x,), "trace")
    assert [o.name for o in d.outputs] == ["y", "info"]
    y, info = d.outputs
    assert y.passed and not info.passed
    assert "not comparable" in info.note and "Info" in info.note


# ----------------------------------------------------------- 4. no silent pass


def test_zero_knob_model_with_a_hidden_branch_is_a_mismatch(
    check_json: CheckJson, tmp_path: Path
) -> None:
    rc, doc = check_json(f"{MODELS / 'hidden_branch.py'}:Net", "--exporter", "trace")
    assert doc["no_knobs"] and doc["no_knobs"].startswith("no knobs found")
    res = doc["results"][0]
    assert res["knobs"] == []
    mod = user_file("hidden_branch")
    later = [{"x": example(mod, s)} for s in (1, 2)]
    expected = oracle_verdict(
        built(mod.Net), "trace", {"x": example(mod)}, tmp_path, values=later, where="baseline"
    )
    assert expected == "mismatch"
    assert res["baseline"]["verdict"] == expected, res["baseline"]["explanation"]
    assert [row["value"] for row in res["baseline"]["sweep"]] == [0, 1, 2]
    assert rc == 1

    # the same through the Python API: seeds 1 and 2 draw inputs like the given one
    # (numpy's PCG64, normal floats of the same shape)
    model = built(mod.Net)
    x = example(mod)
    report = check(model, (x,), exporters=["trace"])
    assert report.no_knobs.startswith("no knobs found")
    assert report.bad
    drawn = [
        {"x": torch.from_numpy(np.random.default_rng(s).standard_normal((2, 4), np.float32))}
        for s in (1, 2)
    ]
    expected = oracle_verdict(model, "trace", {"x": x}, tmp_path, values=drawn, where="baseline")
    assert expected == "mismatch"
    assert report.verdicts() == {"trace": {"(baseline)": expected}}


@pytest.mark.slow
def test_zero_knob_correct_model_passes_and_says_no_knobs(tmp_path: Path) -> None:
    res = run_cli("check", f"{MODELS / 'plain_net.py'}:Net", "--exporter", "trace")
    out = " ".join(res.stdout.split())  # the table wraps lines
    assert "no knobs found" in out
    assert "preserved" in out and "mismatch" not in out
    mod = user_file("plain_net")
    later = [{"x": example(mod, s)} for s in (1, 2)]
    expected = oracle_verdict(
        built(mod.Net), "trace", {"x": example(mod)}, tmp_path, values=later, where="baseline"
    )
    assert expected == "preserved"
    assert res.returncode == 0, res.stderr


# ----------------------------------------------------------- 5. per-exporter failures

ORACLE_IN_A_SUBPROCESS = """
import json, sys
from pathlib import Path
sys.path.insert(0, {models!r})
import torch
import custom_symbolic as mod  # registers the custom symbolic in this process only
from tests.worker.test_user_models import built, example, oracle_verdict
out = {{}}
for exporter in ("script", "trace", "dynamo"):
    errors = []
    v = oracle_verdict(built(mod.Net), exporter, {{"x": example(mod), "flag": False}},
                       Path({tmp!r}), "flag", [False, True], errors=errors)
    out[exporter] = [v, errors]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_one_exporter_failing_does_not_lose_the_others(tmp_path: Path) -> None:
    # through the CLI: the file registers a relu symbolic for good in the process that
    # imports it, which would break every later export with a relu in a shared worker
    rc, doc = check_json_cli(f"{MODELS / 'custom_symbolic.py'}:Net", "--exporter", "all")
    # the oracle imports the user file too, so it runs in a process of its own
    code = ORACLE_IN_A_SUBPROCESS.format(models=str(MODELS), tmp=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    oracle = json.loads(proc.stdout.strip().splitlines()[-1])
    for exporter in ("script", "trace"):
        verdict, errors = oracle[exporter]
        assert verdict == "failed"
        assert len(errors) == 1 and errors[0].startswith("ort-load:"), errors  # exported fine
        assert "cfx_custom" in errors[0] or "MyRelu" in errors[0], errors
        res = next(r for r in doc["results"] if r["exporter"] == exporter)
        assert res["status"] == "failed"
        assert "ONNX Runtime cannot load" in res["error"]
        assert "/tmp/cfexplore-" not in res["error"]
        assert len(res["error"]) <= 200, res["error"]
        knob = knob_json(doc, exporter, "flag")
        assert knob["verdict"] == verdict
        assert "/tmp/cfexplore-" not in knob["explanation"]
    verdict, errors = oracle["dynamo"]
    assert verdict == "frozen", errors
    dyn = next(r for r in doc["results"] if r["exporter"] == "dynamo")
    assert dyn["status"] == "ok"
    assert knob_json(doc, "dynamo", "flag")["verdict"] == verdict
    assert rc == 1


# ----------------------------------------------------------- 6. the Python API


def test_python_api_check_and_verdict_lookup(tmp_path: Path) -> None:
    mod = user_file("api_net")
    model = built(mod.Net)
    x = x24()
    report = check(model, (x, True))
    assert isinstance(report, CheckReport)
    assert [r.exporter for r in report.results] == ["script", "trace", "dynamo"]
    for exporter in ("script", "trace", "dynamo"):
        for name, where in (("flag", "forward-arg"), ("offset", "attr")):
            expected = oracle_verdict(
                model, exporter, {"x": x, "flag": True}, tmp_path, name, [False, True], where
            )
            assert report.verdict(name, exporter) == expected, (exporter, name)
    assert report.verdict("flag", "script") == "preserved"
    assert report.verdict("flag", "trace") == "frozen"
    with pytest.raises(ValueError, match="exporters disagree"):
        report.verdict("flag")
    assert report.verdict("offset") == "frozen"  # all three agree
    with pytest.raises(KeyError):
        report.verdict("no_such_knob")
    with pytest.raises(KeyError):
        report.verdict("flag", "no_such_exporter")
    assert knob_verdict(report, "script", "flag").export_value is True
    assert model.offset is True

    only = check(model, (x, True), exporters=["script"], knobs=["flag"])
    assert only.verdicts() == {"script": {"flag": "preserved"}}
    with pytest.raises(KeyError):
        only.verdict("offset")
    with pytest.raises(CfxError, match="unknown knob 'nope'"):
        check(model, (x, True), exporters=["script"], knobs=["nope"])


# ----------------------------------------------------------- 7. module targets


@pytest.mark.slow
def test_module_target_class(tmp_path: Path) -> None:
    rc, doc = check_json_cli(
        "user_models.ex_tuple_bool:Net", "--exporter", "script", pythonpath=DATA
    )
    assert doc["target"] == "user_models.ex_tuple_bool:Net"
    knob = knob_json(doc, "script", "flag")
    assert knob["export_value"] is True
    mod = user_file("ex_tuple_bool")
    x, flag = example(mod)
    expected = oracle_verdict(
        built(mod.Net), "script", {"x": x, "flag": flag}, tmp_path, "flag", [False, True]
    )
    assert knob["verdict"] == expected == "preserved"
    assert rc == 0


@pytest.mark.slow
def test_module_target_through_a_namespace_package() -> None:
    """`tests.data.user_models.plain_net:Net` imports in Python (tests.data is a namespace
    package), so cfexplore resolves it too: exit 0, not 'internal error: KeyError'."""
    assert importlib.util.find_spec(f"{PKG}.plain_net") is not None
    res = run_cli("check", f"{PKG}.plain_net:Net", "--exporter", "trace", "--json", pythonpath=ROOT)
    assert "internal error" not in res.stderr, res.stderr
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["results"][0]["baseline"]["verdict"] == "preserved"


def test_factory_with_init_and_ranged_int_input(tmp_path: Path) -> None:
    mod = user_file("factory")
    # the assert in forward() raises for ids outside [5, 10): the default ints [0, 4) fail
    with pytest.raises(AssertionError, match="out of range"):
        mod.make_net(vocab=10, width=4, scale=0.5)(torch.zeros(1, 8, dtype=torch.int64))
    rc, doc = check_json_cli(
        "user_models.factory:make_net",
        "--init",
        "vocab=10,width=4,scale=0.5",
        "--input",
        f"ids=1x8:int64:{mod.LOW}..{mod.HIGH}",
        "--exporter",
        "trace",
        pythonpath=DATA,
    )
    assert doc["no_knobs"]
    res = doc["results"][0]
    assert res["status"] == "ok", res["error"]
    rows = res["baseline"]["sweep"]
    assert [r["torch_error"] for r in rows] == [None, None, None]  # no assert fired

    def ids(seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.randint(mod.LOW, mod.HIGH, (1, 8), generator=g)

    model = built(lambda: mod.make_net(vocab=10, width=4, scale=0.5))
    later = [{"ids": ids(s)} for s in (1, 2)]
    expected = oracle_verdict(
        model, "trace", {"ids": ids(0)}, tmp_path, values=later, where="baseline"
    )
    assert res["baseline"]["verdict"] == expected == "preserved"
    assert "--init=vocab=10 --init=width=4 --init=scale=0.5" in doc["command"]
    assert "--input=ids=1x8:int64:5..10" in doc["command"]
    assert rc == 0


# ------------------------------------------- regressions found by an independent run


def test_data_if_in_a_helper_function_is_found_at_run_time(tmp_path: Path) -> None:
    """`if y[0, 0] > 0:` in a module-level helper: no class source reads it and no
    reduction marks it; the run-time watch on Tensor.__bool__ finds it."""
    mod = user_file("data_helper")
    model = built(mod.Net)
    x = example(mod)
    line = line_of(Path(mod.__file__), "if y[0, 0] > 0:")
    name = f"data@data_helper.py:{line}"

    def then(t: torch.Tensor) -> bool:
        with torch.no_grad():
            return bool(model.fc(t)[0, 0] > 0)

    other = next(d for d in [-x, x * 100, x * -100] if then(d) != then(x))
    report = check(model, (x,))
    for exporter, want in {"script": "preserved", "trace": "frozen", "dynamo": "failed"}.items():
        knob = knob_verdict(report, exporter, name)
        assert knob.where == "tensor-data" and knob.source_line == line
        expected = oracle_verdict(
            model, exporter, {"x": x}, tmp_path, values=[{"x": other}], where="data"
        )
        assert expected == want
        assert knob.verdict == expected, (exporter, knob.explanation)


def test_none_kept_by_a_script_export_is_matched_not_counted(tmp_path: Path) -> None:
    """`return y, None` scripted: ONNX has 2 outputs, the second an empty optional that
    ONNX Runtime returns as None. It matches PyTorch's None; `flag` is preserved."""
    import onnxruntime as ort

    mod = user_file("none_tuple")
    model = built(mod.Net)
    x = example(mod)
    report = check(model, (x,), exporters=("script",))
    assert report.verdict("flag") == "preserved", report.results[0].knobs[0].explanation

    path = tmp_path / "plain.onnx"
    plain_export(model, "script", {"x": x, "flag": False}, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for flag in (False, True):
        y, none = session.run(None, {"x": x.numpy(), "flag": np.array(flag)})
        assert none is None
        with torch.no_grad():
            want, _ = model(x, flag)
        assert np.allclose(y, want.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.slow
def test_a_value_that_crashes_pytorch_costs_that_value_only(tmp_path: Path) -> None:
    """num_heads=0 kills the worker (SIGFPE in eager attention): that value is a row
    saying PyTorch crashed, skipped as a value PyTorch cannot run at; every other knob and
    value still gets its verdict. Through the CLI: a worker of its own that dies."""
    rc, doc = check_json_cli(f"{MODELS / 'crashing_value.py'}:Net", "--exporter", "trace")
    assert rc == 1
    res = doc["results"][0]
    assert res["status"] == "ok"
    heads = knob_json(doc, "trace", "layer.self_attn.num_heads")
    crashed = [r for r in heads["sweep"] if r["value"] == 0]
    assert crashed and "PyTorch crashed" in crashed[0]["torch_error"]
    mod = user_file("crashing_value")
    model = built(mod.Net)
    x = example(mod)
    for name in ("layer.self_attn.num_heads", "layer.norm_first", "layer.self_attn.batch_first"):
        k = knob_json(doc, "trace", name)
        values = [v for v in k["values"] if name != heads["name"] or v != 0]
        expected = oracle_verdict(model, "trace", {"x": x}, tmp_path, name, values, "attr")
        assert k["verdict"] == expected == "frozen", (name, k["explanation"])


def test_a_script_failure_says_the_same_thing_the_second_time(tmp_path: Path) -> None:
    """TorchScript leaves a half-compiled class behind when scripting fails; scripting
    that class again (the app re-runs a diff, a sweep retries) must repeat the real reason,
    not "Can't redefine method: forward"."""
    import inspect

    from cfexplore.worker.exporters import export_to

    src = tmp_path / "optional_if.py"
    src.write_text(
        "from typing import Optional\n"
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    def forward(self, x, scale: Optional[bool] = None):\n"
        "        if scale:\n"
        "            x = x * 2\n"
        "        return x\n"
    )
    spec = importlib.util.spec_from_file_location("optional_if_twice", src)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.Net()
    sig = inspect.signature(model.forward)
    messages = []
    for attempt in range(2):
        with pytest.raises(RuntimeError) as info:
            export_to("script", model, sig, {"x": torch.randn(2)}, tmp_path / f"{attempt}.onnx", 17)
        messages.append(str(info.value))
    assert all("Optional[bool]" in m for m in messages), messages
    # and the module still exports by trace in the same process
    export_to("trace", model, sig, {"x": torch.randn(2)}, tmp_path / "t.onnx", 17)
