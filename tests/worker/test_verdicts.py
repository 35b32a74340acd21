"""The survival verdicts, from real torch exports and real ONNX Runtime sessions."""

from __future__ import annotations

import pytest

from cfexplore.analysis.verdicts import KnobSweep, decide
from cfexplore.engine.session import COLUMNS, MatrixReport
from cfexplore.render.report import matrix_markdown
from cfexplore.results import SweepRow
from cfexplore.settings import RunSettings
from tests.conftest import verdicts


def cell(m: MatrixReport, exporter: str, construct: str, column: str) -> dict[str, str]:
    return {name: verdict for name, verdict, _ in m.cells[exporter][construct][column].entries}


@pytest.mark.parametrize("construct", ["If", "Loop"])
def test_seed_table_script(seed_matrix: MatrixReport, construct: str) -> None:
    prefix = construct.lower()
    cls = cell(seed_matrix, "script", construct, "class-attr")
    # plain class attribute: TorchScript refuses it; Final: folded into the graph
    assert cls[f"{prefix}-class-attr"] == "failed"
    assert cls[f"{prefix}-class-final"] == "frozen"
    assert cell(seed_matrix, "script", construct, "instance-attr") == {
        f"{prefix}-instance-attr": "frozen"
    }
    assert cell(seed_matrix, "script", construct, "forward-arg") == {
        f"{prefix}-forward-arg": "preserved"
    }


def test_plain_class_attr_short_error(seed_matrix: MatrixReport) -> None:
    report = next(r for r in seed_matrix.reports if r.target == "if-class-attr")
    script = next(r for r in report.results if r.exporter == "script")
    assert script.status == "failed"
    assert "has no attribute 'branch_testing'" in script.error
    assert script.error.startswith("RuntimeError: ")
    assert len(script.error) <= 220 and "\n" not in script.error
    assert "HERE" in script.error_details  # the full text is kept for a details view


@pytest.mark.parametrize("exporter", ["trace", "dynamo"])
def test_trace_and_dynamo_freeze_forward_args(seed_matrix: MatrixReport, exporter: str) -> None:
    for construct in ("If", "Loop"):
        for col in COLUMNS:
            assert set(cell(seed_matrix, exporter, construct, col).values()) == {"frozen"}


def test_frozen_explanation_names_the_placement(seed_matrix: MatrixReport) -> None:
    why = next(e for e in seed_matrix.cells["script"]["If"]["instance-attr"].entries)[2]
    assert "branch_testing is an instance attribute" in why
    assert "fixed when the model was scripted" in why
    assert "no input for it" in why


def test_script_forward_arg_keeps_if_and_loop(seed_matrix: MatrixReport) -> None:
    for name, op in (("if-forward-arg", "If"), ("loop-forward-arg", "Loop")):
        report = next(r for r in seed_matrix.reports if r.target == name)
        script = next(r for r in report.results if r.exporter == "script")
        assert script.control_flow[op] == 1
        knob = script.knobs[0]
        assert knob.onnx_has_input and knob.graph_has_construct
        assert knob.max_abs_diff is not None and knob.max_abs_diff < 1e-4
        assert all(row.passed for row in knob.rows)


def test_instance_attr_graph_has_no_control_flow(seed_matrix: MatrixReport) -> None:
    report = next(r for r in seed_matrix.reports if r.target == "if-instance-attr")
    for res in report.results:
        assert res.control_flow["If"] == 0
        assert not res.knobs[0].onnx_has_input


def test_matrix_markdown_is_computed(seed_matrix: MatrixReport) -> None:
    md = matrix_markdown(seed_matrix)
    assert "| If | failed (plain) / frozen (Final) | frozen | preserved |" in md
    assert "| Loop | failed (plain) / frozen (Final) | frozen | preserved |" in md


def test_tensor_data_if(check_variant) -> None:  # type: ignore[no-untyped-def]
    report = check_variant("if-tensor-data")
    v = verdicts(report)
    assert v[("script", "x_sign")] == "preserved"
    assert v[("trace", "x_sign")] == "frozen"
    assert v[("dynamo", "x_sign")] == "failed"
    dyn = next(r for r in report.results if r.exporter == "dynamo")
    assert "data-dependent" in dyn.error
    assert len(dyn.error) <= 220


def test_torch_cond_preserved_by_dynamo(check_variant) -> None:  # type: ignore[no-untyped-def]
    report = check_variant("if-torch-cond")
    assert verdicts(report)[("dynamo", "x_sign")] == "preserved"
    dyn = next(r for r in report.results if r.exporter == "dynamo")
    assert dyn.control_flow["If"] >= 1


def test_while_loop_preserved_by_dynamo(check_variant) -> None:  # type: ignore[no-untyped-def]
    report = check_variant("loop-while-loop")
    assert verdicts(report)[("dynamo", "n")] == "preserved"
    assert next(r for r in report.results if r.exporter == "dynamo").control_flow["Loop"] == 1


def test_if_in_loop_script_nests(check_variant) -> None:  # type: ignore[no-untyped-def]
    report = check_variant("if-in-loop")
    v = verdicts(report)
    assert v[("script", "n_loops")] == "preserved"
    assert v[("script", "branch_testing")] == "preserved"
    assert v[("trace", "n_loops")] == "frozen"
    script = next(r for r in report.results if r.exporter == "script")
    assert script.control_flow["Loop"] == 1 and script.control_flow["If"] == 1


def test_early_return(check_variant) -> None:  # type: ignore[no-untyped-def]
    v = verdicts(check_variant("early-return"))
    assert v[("script", "branch_testing")] == "preserved"
    assert v[("trace", "branch_testing")] == "frozen"
    assert v[("dynamo", "branch_testing")] == "frozen"


def test_no_effect(check_variant) -> None:  # type: ignore[no-untyped-def]
    report = check_variant("no-effect")
    assert set(verdicts(report).values()) == {"no-effect"}
    assert not report.bad


def judge(
    name: str,
    where: str,
    construct: str,
    exporter: str,
    export_value: object,
    rows: list[SweepRow],
    onnx_has_input: bool,
    graph_has_construct: bool,
) -> tuple[str, str]:
    """`decide` on a hand-made sweep: (verdict, explanation)."""
    sweep = KnobSweep(
        name,
        where,
        construct,
        [r.value for r in rows],
        export_value,
        exporter,
        rows,
        onnx_has_input,
        graph_has_construct,
    )
    v = decide(sweep)
    assert v.name == name and v.rows == rows and v.onnx_has_input == onnx_has_input
    return v.verdict, v.explanation


def row(value: object, passed: bool, changed: bool | None, max_abs: float = 0.0) -> SweepRow:
    return SweepRow(value, passed, max_abs, changed)


def test_decide_mismatch_at_export_value() -> None:
    rows = [row(False, False, False, 0.5), row(True, True, True)]
    verdict, why = judge("k", "forward-arg", "If", "script", False, rows, True, True)
    assert verdict == "mismatch"
    assert "export-time value k=false" in why


def test_decide_frozen_preserved_no_effect() -> None:
    frozen = [row(False, True, False), row(True, False, True, 0.8)]
    assert judge("k", "instance-attr", "If", "script", False, frozen, False, False)[0] == "frozen"
    kept = [row(False, True, False), row(True, True, True)]
    assert judge("k", "forward-arg", "If", "script", False, kept, True, True)[0] == "preserved"
    same = [row(False, True, False), row(True, False, False, 0.8)]
    assert judge("k", "forward-arg", "If", "script", False, same, True, True)[0] == "no-effect"


def test_decide_skips_values_where_torch_raises() -> None:
    rows = [row(2, True, False), row(3, True, True), SweepRow(0, False, None, None, "boom")]
    verdict, why = judge("n", "instance-attr", "Loop", "script", 2, rows, False, False)
    assert verdict == "preserved"
    assert "skipped" in why


@pytest.mark.slow
def test_full_size_seed_model(shared_client) -> None:  # type: ignore[no-untyped-def]
    """The seed's own network (1x3x256x256, Linear(8192, 1024)), script exporter."""
    from cfexplore.engine.session import Session
    from cfexplore.spec import TargetSpec

    got = {}
    for name in ("seed-if-forward-arg", "seed-if-instance-attr"):
        session = Session.open(TargetSpec(variant=name), client=shared_client)
        report = session.check(["script"])
        got[name] = report.results[0].knobs[0].verdict
    assert got == {"seed-if-forward-arg": "preserved", "seed-if-instance-attr": "frozen"}
    diff = session.diff("script", RunSettings(seed=5))
    assert diff.outputs[0].torch_shape == [1, 1024]
