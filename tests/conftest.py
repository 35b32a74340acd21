"""Shared fixtures: real exports of the small built-in variants, computed once per run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfexplore.engine.session import MatrixReport, Session, matrix
from cfexplore.results import CheckReport
from cfexplore.spec import TargetSpec
from cfexplore.worker.client import WorkerClient

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
"""The repository root (tests/ is one level down, whichever subfolder a test lives in)."""


@pytest.fixture(autouse=True, scope="session")
def _private_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Remembered input settings go to a folder of this run, never the user's ~/.config."""
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    yield
    if old is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = old


@pytest.fixture(scope="session")
def seed_matrix() -> MatrixReport:
    """The seed table over all three exporters (small model), computed live once."""
    return matrix()


@pytest.fixture(scope="session")
def shared_client() -> Iterator[WorkerClient]:
    """One worker process reused by tests that load built-in variants."""
    client = WorkerClient()
    yield client
    client.close()


@pytest.fixture(scope="session")
def check_variant(shared_client: WorkerClient):  # type: ignore[no-untyped-def]
    """check_variant(name) -> CheckReport over all exporters, cached per name."""
    cache: dict[str, CheckReport] = {}

    def run(name: str) -> CheckReport:
        if name not in cache:
            session = Session.open(TargetSpec(variant=name), client=shared_client)
            cache[name] = session.check()
        return cache[name]

    return run


def verdicts(report: CheckReport) -> dict[tuple[str, str], str]:
    """(exporter, knob) -> verdict."""
    return {(r.exporter, k.name): k.verdict for r in report.results for k in r.knobs}


SYSTEM_TESTS = Path(__file__).parent / "system"
"""Whole-process tests (the CLI in subprocesses, signals, time limits, corpora, key fuzz, a
pty): all marked `slow`, so the everyday tier (`pytest -m "not slow"`) leaves them to CI,
which runs everything."""

SLOW_ELSEWHERE = frozenset(
    {"test_tui", "test_tui_open", "test_tui_safety", "test_user_code", "test_budget"}
)
"""Modules outside `system/` that are `slow` as a whole: end-to-end app flows (`tui/`),
hostile user code and the size-budget stress models (`worker/`). Single stress, crash and
process-lifecycle tests elsewhere carry `@pytest.mark.slow` themselves."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(SYSTEM_TESTS) or item.path.stem in SLOW_ELSEWHERE:
            item.add_marker(pytest.mark.slow)
