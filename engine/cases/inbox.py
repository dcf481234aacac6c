"""Inbox services: whose open tasks are whose, claim/release/reassign, and traffic lights."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import Conflict
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.execution.script_api import LEGAL_TZ
from engine.models import HALTED_STATUSES
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User


def _routed_to(user: User):  # type: ignore[no-untyped-def]
    mine = and_(HumanTask.org_code == user.org_code, HumanTask.role == user.role)
    return or_(and_(mine, HumanTask.assignee_id.is_(None)), HumanTask.assignee_id == user.id)


def _halted() -> Select[int]:
    """Ids of suspended or terminated instances: their tasks leave the inbox."""
    return select(ProcessInstance.id).where(ProcessInstance.status.in_(HALTED_STATUSES))


def _due_clause(due: str, now: datetime):  # type: ignore[no-untyped-def]
    local_midnight = datetime.combine(
        now.astimezone(LEGAL_TZ).date() + timedelta(days=1), datetime.min.time(), LEGAL_TZ
    )
    if due == "overdue":
        return HumanTask.due_at < now
    if due == "today":
        return and_(HumanTask.due_at >= now, HumanTask.due_at < local_midnight)
    return and_(HumanTask.due_at >= now, HumanTask.due_at < now + timedelta(days=7))


def list_open_tasks(
    session: Session,
    user: User,
    *,
    process_id: str | None = None,
    due: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> list[HumanTask]:
    """Open tasks routed to the user's organization and role, or assigned to the user.

    `status` filters by light: 'green', 'yellow' or 'red'.
    """
    now = now or datetime.now(UTC)
    query = select(HumanTask).where(
        HumanTask.status == TaskStatus.OPEN, _routed_to(user), ~HumanTask.instance_id.in_(_halted())
    )
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    if due in {"overdue", "today", "week"}:
        query = query.where(_due_clause(due, now))
    tasks = list(
        session.scalars(query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id))
    )
    if status in {"green", "yellow", "red"}:
        tasks = [t for t in tasks if task_light(t, now) == status]
    return tasks


def list_done_tasks(session: Session, user: User, *, limit: int = 200) -> list[HumanTask]:
    """Tasks the user completed (in their own name or for an officer)."""
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.completed_by_id == user.id, HumanTask.status == TaskStatus.COMPLETED)
            .order_by(HumanTask.completed_at.desc())
            .limit(limit)
        )
    )


def task_light(task: HumanTask, now: datetime) -> str:
    """Green before the warning window, yellow inside it, red once overdue."""
    if task.due_at is not None and now >= task.due_at:
        return "red"
    if task.warn_at is not None and now >= task.warn_at:
        return "yellow"
    return "green"


def _open_task(session: Session, task_id: int) -> HumanTask:
    # The instance first, then the task: the order a step takes them in (no deadlock), and
    # the instance lock is the one an audit chain append needs.
    instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
    if instance_id is not None:
        audit.lock_chain(session, instance_id)
    task = session.get(HumanTask, task_id, with_for_update=True, populate_existing=True)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task {task_id} is no longer open")
    status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == instance_id))
    if status in HALTED_STATUSES:
        raise Conflict(f"instance {instance_id} of task {task_id} is {status}")
    return task


def _log(
    session: Session, task: HumanTask, user: User, kind: str, detail: dict[str, object]
) -> None:
    row = audit.event_row(
        instance_id=task.instance_id,
        task_guid=task.guid,
        bpmn_id=task.bpmn_id,
        kind=kind,
        actor=user.username,
        at=datetime.now(UTC),
        detail={"task_id": task.id, **detail},
    )
    audit.append_events(session, [row])


def claim_task(session: Session, *, task_id: int, user: User) -> HumanTask:
    """Take an open task of one's organization and role.

    Raises:
        NotAllowed: not routed to the user; Conflict: someone else holds it.
    """
    task = _open_task(session, task_id)
    if task.org_code != user.org_code or task.role != user.role:
        raise NotAllowed(f"task {task_id} is not routed to {user.username}")
    if task.assignee_id not in (None, user.id):
        raise Conflict(f"task {task_id} is claimed by someone else")
    task.assignee_id = user.id
    _log(session, task, user, "task_claimed", {})
    session.flush()
    return task


def release_task(session: Session, *, task_id: int, user: User) -> HumanTask:
    """Give a claimed task back to the organization's pool.

    Raises:
        NotAllowed: the user neither holds it nor heads the organization, or the task has
            no pool (it was routed to one person, such as the initiator).
    """
    task = _open_task(session, task_id)
    if task.role is None:
        raise NotAllowed(f"task {task_id} was routed to one person and has no pool to return to")
    is_head = user.role == Role.HEAD and task.org_code == user.org_code
    if task.assignee_id != user.id and not is_head:
        raise NotAllowed(f"user {user.username} does not hold task {task_id}")
    task.assignee_id = None
    _log(session, task, user, "task_released", {})
    session.flush()
    return task


def reassign_task(session: Session, *, task_id: int, user: User, to_user_id: int) -> HumanTask:
    """Hand a task to another user of the same organization and role.

    Raises:
        NotAllowed: the target is outside the organization or role, or the user may not reassign.
    """
    task = _open_task(session, task_id)
    target = session.get(User, to_user_id)
    if (
        target is None
        or target.org_code != task.org_code
        or target.role != task.role
        or not target.active
    ):
        raise NotAllowed("a task can only go to an active user of its organization and role")
    is_head = user.role == Role.HEAD and task.org_code == user.org_code
    holder = task.assignee_id == user.id or (
        task.assignee_id is None and user.role == task.role and user.org_code == task.org_code
    )
    if not (is_head or holder):
        raise NotAllowed(f"user {user.username} may not reassign task {task_id}")
    task.assignee_id = target.id
    _log(session, task, user, "task_reassigned", {"to_user_id": target.id})
    session.flush()
    return task
