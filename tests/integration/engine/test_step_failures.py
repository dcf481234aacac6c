"""Any exception inside a step is an incident of the instance, and the admin retry mends it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.support import audit_kinds
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload

KINDS = [
    # kind, bad data, failing element, words of the message, patch, resulting data
    (
        "script",
        {"total": 10, "parts": 0},
        "compute_share",
        "ZeroDivision",
        {"parts": 2},
        {"share": 5},
    ),
    (
        "mi",
        {"items": 5},
        "count_items",
        "not iterable",
        {"items": ["a", "bb"]},
        {"counted": [1, 2]},
    ),
    ("io", {}, "use_amount", "Missing data input", {"amount": 3}, {"doubled": 6}),
    ("data_object", {"entry_list": [1]}, "write_register", "data object", {"register": ["x"]}, {}),
]


def _fail(
    session: Session, officer: User, settings: Settings, clock: Clock, kind: str, data: Any
) -> int:
    deploy_fixture(session, "step_failures")
    instance = instances.start_instance(
        session, process_id="step_failures", data={}, user=officer, settings=settings, now=clock.now
    )
    [prepare] = open_tasks(session, instance.id)
    instances.complete_task(
        session,
        task_id=prepare.id,
        data={"kind": kind, **data},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return instance.id


@pytest.mark.parametrize(("kind", "data", "element", "words", "patch", "result"), KINDS)
def test_an_exception_in_a_step_is_an_incident_with_element_line_and_message(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    kind: str,
    data: dict[str, Any],
    element: str,
    words: str,
    patch: dict[str, Any],
    result: dict[str, Any],
) -> None:
    instance_id = _fail(session, officer, settings, clock, kind, data)

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == element
    assert isinstance(instance.error["line"], int)
    assert words in instance.error["message"]
    assert audit_kinds(session, instance_id)[-1] == "incident"


@pytest.mark.parametrize(("kind", "data", "element", "words", "patch", "result"), KINDS)
def test_the_admin_retry_with_patched_data_runs_on(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    kind: str,
    data: dict[str, Any],
    element: str,
    words: str,
    patch: dict[str, Any],
    result: dict[str, Any],
) -> None:
    instance_id = _fail(session, officer, settings, clock, kind, data)

    instances.retry_instance(
        session, instance_id=instance_id, data_patch=patch, actor="admin", settings=settings
    )

    instance = reload(session, instance_id)
    assert (instance.status, instance.error) == (InstanceStatus.RUNNING, None)
    assert [t.bpmn_id for t in open_tasks(session, instance_id)] == ["done"]
    data_now = instances.instance_data(session, instance)
    assert {key: data_now[key] for key in result} == result


def test_a_user_task_whose_submission_breaks_it_stays_open_for_the_retry(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _fail(session, officer, settings, clock, "user_output", {})
    [fill] = open_tasks(session, instance_id)
    assert fill.bpmn_id == "fill_amount"

    instances.complete_task(
        session, task_id=fill.id, data={"note": "x"}, user=officer, settings=settings
    )

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None and instance.error["element"] == "fill_amount"
    assert "Missing data ouput" in instance.error["message"]
    assert [t.id for t in open_tasks(session, instance_id)] == [fill.id]
    assert "task_completed" not in audit_kinds(session, instance_id)[-2:]

    instances.retry_instance(session, instance_id=instance_id, data_patch={}, actor="admin")
    instances.complete_task(
        session, task_id=fill.id, data={"filled_amount": 7}, user=officer, settings=settings
    )

    assert [t.bpmn_id for t in open_tasks(session, instance_id)] == ["done"]
    assert reload(session, instance_id).status == InstanceStatus.RUNNING
