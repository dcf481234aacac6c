"""退回, 撤回, 挂起/恢复, 终止 through the engine services, reloading the instance between steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import inbox
from engine.cases import instances
from engine.cases import messages
from engine.cases import operations
from engine.cases import suspension
from engine.errors import Conflict
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import make_user
from tests.integration.engine.conftest import AGENCY
from tests.integration.engine.support import audit_kinds
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload


def _at_head_review(session: Session, officer: User, settings: Settings, clock: Clock) -> int:
    """A case whose request (amount 500) the officer filled in: the head's review is open."""
    deploy_fixture(session, "case_ops")
    instance = instances.start_instance(
        session,
        process_id="case_ops",
        data={"subject": "采购", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    [fill] = open_tasks(session, instance.id)
    clock.advance(hours=1)
    instances.complete_task(
        session,
        task_id=fill.id,
        data={"amount": 500},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return instance.id


def _task(session: Session, instance_id: int, bpmn_id: str) -> HumanTask:
    session.expire_all()
    return session.scalars(
        select(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id)
        .order_by(HumanTask.id.desc())
    ).first()  # type: ignore[return-value]


def test_return_reopens_the_earlier_task_with_its_data_reason_and_a_new_deadline(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _at_head_review(session, officer, settings, clock)
    [review] = open_tasks(session, instance_id)
    clock.advance(hours=5)

    operations.return_task(
        session,
        task_id=review.id,
        to="fill_request",
        reason="金额依据不足",
        user=head,
        now=clock.now,
    )

    reload(session, instance_id)
    [reopened] = open_tasks(session, instance_id)
    assert (reopened.bpmn_id, reopened.assignee_id) == ("fill_request", officer.id)
    assert reopened.due_at == clock.now + timedelta(hours=3)
    assert _task(session, instance_id, "head_review").status == TaskStatus.CANCELLED
    view = instances.get_task_view(session, reopened.id)
    assert view.data["amount"] == 500
    notice = operations.return_notice(session, reopened)
    assert notice is not None and notice.detail is not None
    assert (notice.kind, notice.detail["reason"], notice.actor) == (
        "task_returned",
        "金额依据不足",
        "head_a",
    )
    instances.complete_task(
        session, task_id=reopened.id, data={"amount": 800}, user=officer, settings=settings
    )
    [again] = open_tasks(session, instance_id)
    assert again.bpmn_id == "head_review"


def test_return_needs_a_reason_a_listed_target_and_the_assignee(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _at_head_review(session, officer, settings, clock)
    [review] = open_tasks(session, instance_id)

    with pytest.raises(InvalidTaskData) as no_reason:
        operations.return_task(session, task_id=review.id, to="fill_request", reason=" ", user=head)
    with pytest.raises(InvalidTaskData) as not_listed:
        operations.return_task(session, task_id=review.id, to="start", reason="理由", user=head)
    with pytest.raises(NotAllowed):
        operations.return_task(
            session, task_id=review.id, to="fill_request", reason="理由", user=officer
        )

    assert set(no_reason.value.field_errors) == {"reason"}
    assert set(not_listed.value.field_errors) == {"to"}
    assert [t.bpmn_id for t in open_tasks(session, instance_id)] == ["head_review"]
    assert "task_returned" not in audit_kinds(session, instance_id)


def test_withdraw_reopens_the_task_for_its_completer_while_the_next_is_untouched(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _at_head_review(session, officer, settings, clock)
    fill = _task(session, instance_id, "fill_request")
    clock.advance(minutes=10)

    operations.withdraw_task(session, task_id=fill.id, user=officer, now=clock.now)

    reload(session, instance_id)
    [reopened] = open_tasks(session, instance_id)
    assert (reopened.id, reopened.status, reopened.completed_by_id) == (fill.id, "open", None)
    assert _task(session, instance_id, "head_review").status == TaskStatus.CANCELLED
    assert instances.get_task_view(session, reopened.id).data["amount"] == 500
    assert audit_kinds(session, instance_id)[-1] == "task_withdrawn"


def test_withdraw_is_refused_to_others_and_once_the_next_task_is_claimed(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _at_head_review(session, officer, settings, clock)
    fill = _task(session, instance_id, "fill_request")
    other = make_user(session, username="officer_b", org_code=AGENCY, role=Role.OFFICER)
    with pytest.raises(NotAllowed):
        operations.withdraw_task(session, task_id=fill.id, user=other)

    [review] = open_tasks(session, instance_id)
    inbox.claim_task(session, task_id=review.id, user=head)
    reload(session, instance_id)

    with pytest.raises(Conflict):
        operations.withdraw_task(session, task_id=fill.id, user=officer)
    with pytest.raises(Conflict):  # an open task is not withdrawn, it is completed
        operations.withdraw_task(session, task_id=review.id, user=head)
    assert [t.bpmn_id for t in open_tasks(session, instance_id)] == ["head_review"]


def test_suspend_hides_and_freezes_the_case_and_resume_moves_its_deadlines(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _at_head_review(session, officer, settings, clock)
    [review] = open_tasks(session, instance_id)
    due = review.due_at
    assert due is not None

    with pytest.raises(NotAllowed):
        suspension.suspend_instance(session, instance_id=instance_id, reason="待鉴定", user=officer)
    with pytest.raises(InvalidTaskData):
        suspension.suspend_instance(session, instance_id=instance_id, reason="", user=head)
    suspension.suspend_instance(
        session, instance_id=instance_id, reason="等待鉴定意见", user=head, now=clock.now
    )
    assert reload(session, instance_id).status == InstanceStatus.SUSPENDED
    assert inbox.list_open_tasks(session, head) == []
    with pytest.raises(Conflict):
        instances.complete_task(session, task_id=review.id, data={"approved": True}, user=head)
    with pytest.raises(Conflict):
        suspension.suspend_instance(session, instance_id=instance_id, reason="再次", user=head)
    clock.advance(hours=10)

    suspension.resume_instance(
        session,
        instance_id=instance_id,
        reason="鉴定意见已到",
        user=head,
        settings=settings,
        now=clock.now,
    )

    assert reload(session, instance_id).status == InstanceStatus.RUNNING
    [resumed] = open_tasks(session, instance_id)
    assert resumed.due_at == due + timedelta(hours=10)
    assert [t.id for t in inbox.list_open_tasks(session, head)] == [review.id]
    kinds = audit_kinds(session, instance_id)
    assert kinds.index("instance_suspended") < kinds.index("instance_resumed")


def test_terminate_ends_the_case_cancels_its_tasks_and_refuses_further_work(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _at_head_review(session, officer, settings, clock)
    [review] = open_tasks(session, instance_id)
    fill = _task(session, instance_id, "fill_request")
    admin = make_user(session, username="admin_x", org_code=AGENCY, role=Role.ADMIN)

    suspension.terminate_instance(
        session,
        instance_id=instance_id,
        reason="已并案处理",
        user=admin,
        settings=settings,
        now=clock.now,
    )

    instance = reload(session, instance_id)
    assert (instance.status, instance.completed_at) == (InstanceStatus.TERMINATED, clock.now)
    assert open_tasks(session, instance_id) == []
    assert _task(session, instance_id, "head_review").status == TaskStatus.CANCELLED
    with pytest.raises(Conflict):
        operations.withdraw_task(session, task_id=fill.id, user=officer)
    with pytest.raises(Conflict):
        operations.return_task(
            session, task_id=review.id, to="fill_request", reason="理由", user=head
        )
    with pytest.raises(Conflict):
        suspension.terminate_instance(session, instance_id=instance_id, reason="再次", user=admin)
    with pytest.raises(Conflict):
        suspension.resume_instance(session, instance_id=instance_id, reason="恢复", user=admin)
    terminated = session.scalars(
        select(AuditEvent).where(
            AuditEvent.instance_id == instance_id, AuditEvent.kind == "instance_terminated"
        )
    ).one()
    assert terminated.detail == {"reason": "已并案处理", "status": "running"}


def test_a_suspended_case_takes_no_message_until_it_resumes(
    session: Session, officer: User, head: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "message_wait")
    instance = instances.start_instance(
        session,
        process_id="message_wait",
        data={"case_no": "S-1"},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    suspension.suspend_instance(session, instance_id=instance.id, reason="等待", user=head)

    def deliver() -> list[int]:
        return messages.deliver_message(
            session,
            name="police_receipt",
            correlation={"case_no": "S-1"},
            payload={},
            actor="police-api",
            settings=settings,
            now=clock.now,
        )

    with pytest.raises(NotFound):
        deliver()
    suspension.resume_instance(
        session, instance_id=instance.id, reason="恢复", user=head, settings=settings
    )
    assert deliver() == [instance.id]
