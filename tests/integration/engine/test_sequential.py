"""Sequential user tasks and an exclusive gateway, with a save and reload at every step."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import inbox
from engine.cases import instances
from engine.errors import Conflict
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.conftest import AGENCY


def _open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    session.expire_all()
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
            .order_by(HumanTask.id)
        )
    )


def _start(session: Session, officer: User, settings: Settings, clock: Clock) -> int:
    deploy_fixture(session, "seq_gateway")
    instance = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "采购", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return instance.id


def test_first_task_goes_to_the_initiator(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)

    [task] = _open_tasks(session, instance_id)
    instance = session.get(ProcessInstance, instance_id)

    assert (task.bpmn_id, task.assignee_id, task.role, task.org_code) == (
        "fill_request",
        officer.id,
        None,
        AGENCY,
    )
    assert instance is not None
    assert (instance.status, instance.title) == (InstanceStatus.RUNNING, "顺序与排他网关：采购")
    assert [t.id for t in inbox.list_open_tasks(session, officer)] == [task.id]


def test_large_amount_goes_to_the_head_lane_then_completes(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [fill] = _open_tasks(session, instance_id)

    instances.complete_task(
        session,
        task_id=fill.id,
        data={"amount": 500},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    [review] = _open_tasks(session, instance_id)

    assert (review.bpmn_id, review.role, review.org_code, review.assignee_id) == (
        "head_review",
        "head",
        AGENCY,
        None,
    )
    assert [t.id for t in inbox.list_open_tasks(session, head)] == [review.id]
    assert inbox.list_open_tasks(session, officer) == []

    instances.complete_task(
        session,
        task_id=review.id,
        data={"approved": True},
        user=head,
        settings=settings,
        now=clock.now,
    )
    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    assert instance.status == InstanceStatus.COMPLETED
    assert instances.instance_data(session, instance) == {
        "subject": "采购",
        "agency_org": AGENCY,
        "amount": 500,
        "approved": True,
    }
    assert _open_tasks(session, instance_id) == []


def test_small_amount_takes_the_default_flow_through_the_script(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [fill] = _open_tasks(session, instance_id)

    instances.complete_task(
        session, task_id=fill.id, data={"amount": 5}, user=officer, settings=settings, now=clock.now
    )

    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    assert instance.status == InstanceStatus.COMPLETED
    data = instances.instance_data(session, instance)
    assert (data["approved"], data["route"]) == (True, "auto")
    kinds = list(
        session.scalars(
            select(AuditEvent.kind)
            .where(AuditEvent.instance_id == instance_id)
            .order_by(AuditEvent.id)
        )
    )
    assert kinds.count("task_completed") == 1
    assert "engine_step" in kinds


def test_invalid_form_data_names_each_field_and_changes_nothing(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [fill] = _open_tasks(session, instance_id)
    state_before = session.get(ProcessInstance, instance_id).state_json  # type: ignore[union-attr]

    with pytest.raises(InvalidTaskData) as caught:
        instances.complete_task(
            session,
            task_id=fill.id,
            data={"amount": -1, "agency_org": "X"},
            user=officer,
            settings=settings,
            now=clock.now,
        )

    assert caught.value.field_errors == {"amount": "不能小于 0", "agency_org": "表单中没有这个字段"}
    assert [t.id for t in _open_tasks(session, instance_id)] == [fill.id]
    assert session.get(ProcessInstance, instance_id).state_json == state_before  # type: ignore[union-attr]


def test_a_task_completed_twice_is_a_conflict(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [fill] = _open_tasks(session, instance_id)
    instances.complete_task(
        session,
        task_id=fill.id,
        data={"amount": 500},
        user=officer,
        settings=settings,
        now=clock.now,
    )

    with pytest.raises(Conflict, match=f"task {fill.id} is no longer open"):
        instances.complete_task(
            session,
            task_id=fill.id,
            data={"amount": 5},
            user=officer,
            settings=settings,
            now=clock.now,
        )


def test_a_task_routed_elsewhere_may_not_be_completed(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [fill] = _open_tasks(session, instance_id)

    with pytest.raises(NotAllowed):
        instances.complete_task(
            session,
            task_id=fill.id,
            data={"amount": 1},
            user=head,
            settings=settings,
            now=clock.now,
        )


def test_start_data_failing_the_start_form_names_the_fields(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "seq_gateway")

    with pytest.raises(InvalidTaskData) as caught:
        instances.start_instance(
            session,
            process_id="seq_gateway",
            data={"subject": ""},
            user=officer,
            settings=settings,
            now=clock.now,
        )

    assert caught.value.field_errors == {"subject": "不能为空", "agency_org": "必填"}
    assert session.scalars(select(ProcessInstance)).all() == []


def test_only_the_start_roles_may_start_a_process(
    session: Session, head: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "seq_gateway")

    with pytest.raises(NotAllowed, match="may not start seq_gateway"):
        instances.start_instance(
            session,
            process_id="seq_gateway",
            data={"subject": "x", "agency_org": AGENCY},
            user=head,
            settings=settings,
            now=clock.now,
        )


def test_an_overlong_title_is_cut_to_the_column_instead_of_failing(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "seq_gateway")
    instance = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "长" * 1000, "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    session.flush()
    session.expire_all()
    stored = session.get(ProcessInstance, instance.id)
    assert stored is not None
    assert len(stored.title) == 300 and stored.title.startswith("顺序与排他网关：长")
