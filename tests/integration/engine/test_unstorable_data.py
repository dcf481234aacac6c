"""Data the database cannot store (a lone surrogate made by a script) is an incident, not a 500."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.errors import UnstorableData
from engine.execution import runner
from engine.execution import saving
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.support import audit_kinds
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload


def _start(session: Session, officer: User, settings: Settings, clock: Clock, *, bad: bool) -> int:
    deploy_fixture(session, "unstorable_script")
    instance = instances.start_instance(
        session,
        process_id="unstorable_script",
        data={"bad": bad},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return instance.id


def test_a_script_making_a_lone_surrogate_fails_its_task_with_an_incident(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, bad=True)
    session.commit()  # the state really is written: it must be storable

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == "make_note"
    assert "cannot be stored" in instance.error["message"]
    assert audit_kinds(session, instance_id)[-1] == "incident"
    assert "note" not in instances.instance_data(session, instance)


def test_the_failed_task_can_be_retried_with_fixed_data(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, bad=True)
    instances.retry_instance(
        session,
        instance_id=instance_id,
        data_patch={"bad": False},
        actor="admin",
        settings=settings,
        now=clock.now,
    )
    [check] = open_tasks(session, instance_id)
    assert check.bpmn_id == "check_note"
    assert instances.instance_data(session, reload(session, instance_id))["note"] == "ok"


def test_state_that_cannot_be_encoded_is_refused_before_the_database(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, bad=False)
    instance = runner.lock_instance(session, instance_id)
    step = runner.open_step(session, instance, settings=settings, actor="x", now=clock.now)
    assert step.workflow is not None
    step.workflow.last_task.data["smuggled"] = "\udc80"
    with pytest.raises(UnstorableData):
        saving.save(step)
