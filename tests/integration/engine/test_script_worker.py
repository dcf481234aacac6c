"""Uploaded models run their code in worker processes the operating system can stop.

The backstop behind the size guards: a C-level operation no guard knows about (comparing two
aliased lists of a million lists each is 10**10 comparisons in one call) or an allocation
past the memory limit ends in an incident, and the server process is never the one stopped.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.execution import catalog
from engine.execution import script_worker
from engine.execution.limits import ScriptLimitExceeded
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.integration.engine.support import reload
from tests.integration.engine.test_script_safety import _bundle_with_script
from tests.integration.engine.test_script_safety import _run_small_request

ALIASED_COMPARISON = (
    "row = [0] * 10000\n"
    "other = [0] * 10000\n"
    "left = [row] * 1000000\n"
    "right = [other] * 1000000\n"
    "same = left == right"
)
GREEDY_ALLOCATION = "rows = [[0] * 1000000 for i in range(1000)]"


def _upload(session: Session, script: str) -> None:
    bundle = _bundle_with_script(script)
    uploaded = catalog.ProcessBundle(
        bundle.process_id, bundle.files, bundle.forms, bundle.manifest, strict=False
    )
    catalog.deploy(session, uploaded, actor="tester")


@pytest.fixture
def worker_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = script_worker.WorkerPool.run

    def counting(pool: script_worker.WorkerPool, request: dict[str, Any]) -> Any:
        calls.append(request["mode"])
        return original(pool, request)

    monkeypatch.setattr(script_worker.WorkerPool, "run", counting)
    return calls


def test_an_uploaded_model_runs_its_code_in_a_worker_with_the_same_result(
    session: Session, officer: User, settings: Settings, clock: Clock, worker_calls: list[str]
) -> None:
    _upload(session, 'approved = amount < 100\nroute = f"auto {amount}"')

    instance = reload(session, _run_small_request(session, officer, settings, clock))

    assert instance.status == InstanceStatus.COMPLETED
    assert "exec" in worker_calls and "eval" in worker_calls


def test_without_isolation_an_uploaded_model_runs_in_the_server(
    session: Session, officer: User, settings: Settings, clock: Clock, worker_calls: list[str]
) -> None:
    _upload(session, 'approved = True\nroute = "auto"')
    in_server = settings.with_overrides(script_isolation="none")

    instance = reload(session, _run_small_request(session, officer, in_server, clock))

    assert instance.status == InstanceStatus.COMPLETED
    assert worker_calls == []


def test_a_c_level_operation_no_guard_knows_is_stopped_as_an_incident(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(script_worker, "GRACE_SECONDS", 1.0)
    _upload(session, ALIASED_COMPARISON)

    instance = reload(session, _run_small_request(session, officer, settings, clock))

    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == "auto_approve"
    assert "script stopped: it ran past its time budget" in instance.error["message"]


def test_an_allocation_past_the_memory_limit_is_an_incident(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    _upload(session, GREEDY_ALLOCATION)
    small = settings.with_overrides(script_memory_mb=300, script_time_budget_seconds=30.0)

    instance = reload(session, _run_small_request(session, officer, small, clock))

    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == "auto_approve"
    assert "MemoryError" in instance.error["type"]


def test_a_worker_answer_that_names_code_is_refused() -> None:
    hostile_answer = pickle.dumps(("ok", os.system))

    with pytest.raises(pickle.UnpicklingError, match=r"posix\.system is not allowed"):
        script_worker._DataUnpickler(io.BytesIO(hostile_answer)).load()


def test_a_failure_in_a_worker_reports_its_type_and_line(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    _upload(session, "a = 1\nb = a / 0")

    instance = reload(session, _run_small_request(session, officer, settings, clock))

    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert (instance.error["element"], instance.error["line"]) == ("auto_approve", 2)
    assert "ZeroDivisionError" in instance.error["type"]


def test_the_kernel_ends_a_worker_past_its_cpu_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # The server would wait a minute; the worker's RLIMIT_CPU (budget + 0.5 s) ends it first.
    monkeypatch.setattr(script_worker, "GRACE_SECONDS", 60.0)
    monkeypatch.setattr(script_worker, "CPU_GRACE_SECONDS", 0.5)
    worker = script_worker.ScriptWorker(memory_mb=512)
    request = script_worker.request_for("exec", ALIASED_COMPARISON, {}, None, budget=0.5, now=None)

    with pytest.raises(ScriptLimitExceeded, match="the operating system ended it"):
        worker.run(request)

    assert not worker.alive()
