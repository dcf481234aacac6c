"""BPMN errors and failing scripts: caught, uncaught (incident), and admin retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.errors import Conflict
from engine.execution import runner
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.support import audit_kinds
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload


def _start_error_events(
    session: Session, officer: User, settings: Settings, clock: Clock, outcome: str
) -> int:
    deploy_fixture(session, "error_events")
    instance = instances.start_instance(
        session,
        process_id="error_events",
        data={"outcome": outcome},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return instance.id


def test_error_end_event_is_caught_by_the_boundary_event(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_error_events(session, officer, settings, clock, "invalid")

    instance = reload(session, instance_id)
    assert (instance.status, instance.error) == (InstanceStatus.RUNNING, None)
    [fix] = open_tasks(session, instance_id)
    assert fix.bpmn_id == "fix_application"

    instances.complete_task(
        session, task_id=fix.id, data={}, user=officer, settings=settings, now=clock.now
    )
    assert reload(session, instance_id).status == InstanceStatus.COMPLETED


def test_without_an_error_the_subprocess_completes_normally(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_error_events(session, officer, settings, clock, "ok")

    assert reload(session, instance_id).status == InstanceStatus.COMPLETED


def test_an_uncaught_bpmn_error_is_an_incident_naming_the_throwing_element(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_error_events(session, officer, settings, clock, "other")

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == "throw_other"
    assert isinstance(instance.error["line"], int)
    assert "E_OTHER" in instance.error["message"]
    assert audit_kinds(session, instance_id)[-1] == "incident"


def _start_script_failure(session: Session, officer: User, settings: Settings, clock: Clock) -> int:
    deploy_fixture(session, "script_failure")
    instance = instances.start_instance(
        session,
        process_id="script_failure",
        data={"total": 10, "parts": 0},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return instance.id


def test_a_failing_script_records_element_line_and_message(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_script_failure(session, officer, settings, clock)

    instance = reload(session, instance_id)

    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert (instance.error["element"], instance.error["line"]) == ("compute_share", 2)
    assert "ZeroDivisionError" in instance.error["type"]
    assert "division" in instance.error["message"]
    assert instance.next_timer_at is None
    assert open_tasks(session, instance_id) == []


def test_retry_after_fixing_the_data_completes_the_instance(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_script_failure(session, officer, settings, clock)

    instances.retry_instance(
        session,
        instance_id=instance_id,
        data_patch={"parts": 5},
        actor="admin",
        settings=settings,
        now=clock.now,
    )

    instance = reload(session, instance_id)
    assert (instance.status, instance.error) == (InstanceStatus.RUNNING, None)
    [check] = open_tasks(session, instance_id)
    assert check.bpmn_id == "check_share"
    instances.complete_task(
        session, task_id=check.id, data={}, user=officer, settings=settings, now=clock.now
    )
    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    assert instances.instance_data(session, instance)["share"] == 2
    assert "retried" in audit_kinds(session, instance_id)


def test_retry_without_a_fix_fails_again(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_script_failure(session, officer, settings, clock)

    instances.retry_instance(
        session,
        instance_id=instance_id,
        data_patch={},
        actor="admin",
        settings=settings,
        now=clock.now,
    )

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == "compute_share"


def test_retry_of_a_healthy_instance_is_a_conflict(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_error_events(session, officer, settings, clock, "invalid")

    with pytest.raises(Conflict, match="not in error"):
        instances.retry_instance(
            session,
            instance_id=instance_id,
            data_patch={},
            actor="admin",
            settings=settings,
            now=clock.now,
        )


def test_a_failed_instance_fires_no_timer_until_a_retry_restores_it(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "timer_and_failure")
    instance_id = instances.start_instance(
        session,
        process_id="timer_and_failure",
        data={"total": 9, "parts": 0},
        user=officer,
        settings=settings,
        now=clock.now,
    ).id
    started = clock.now
    instance = reload(session, instance_id)
    assert (instance.status, instance.next_timer_at) == (InstanceStatus.ERROR, None)

    clock.advance(minutes=10)
    instances.retry_instance(
        session,
        instance_id=instance_id,
        data_patch={"parts": 3},
        actor="admin",
        settings=settings,
        now=clock.now,
    )

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.RUNNING
    assert instance.next_timer_at == started + timedelta(hours=1)


def test_advancing_a_failed_instance_keeps_it_in_error(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "timer_and_failure")
    instance_id = instances.start_instance(
        session,
        process_id="timer_and_failure",
        data={"total": 9, "parts": 0},
        user=officer,
        settings=settings,
        now=clock.now,
    ).id
    error = reload(session, instance_id).error

    clock.advance(minutes=5)
    runner.advance_instance(
        session, instance_id=instance_id, actor="timer", settings=settings, now=clock.now
    )

    instance = reload(session, instance_id)
    assert (instance.status, instance.error) == (InstanceStatus.ERROR, error)
    assert [t.bpmn_id for t in open_tasks(session, instance_id)] == ["hold"]
