"""Inbox services: whose open tasks are whose, claim/release/reassign, and traffic lights."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
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
from engine.paging import PAGE_SIZE
from engine.paging import Cursor
from engine.paging import Page
from engine.paging import after_ascending
from engine.paging import after_descending
from engine.paging import decode
from engine.paging import null_after
from engine.paging import page_of

LIGHTS = ("green", "yellow", "red")
DUE_WINDOWS = ("overdue", "today", "week")


@dataclass(frozen=True)
class TaskFilters:
    """Inbox filters: process, due window ('overdue', 'today', 'week') and light."""

    process_id: str | None = None
    due: str | None = None
    light: str | None = None


def _halted() -> Select[int]:
    """Ids of suspended or terminated instances: their tasks leave the inbox."""
    return select(ProcessInstance.id).where(ProcessInstance.status.in_(HALTED_STATUSES))


@dataclass(frozen=True)
class LightCounts:
    """How many open tasks of a list are green, yellow and red."""

    green: int
    yellow: int
    red: int

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red


def _due_clause(due: str, now: datetime) -> ColumnElement[bool]:
    local_midnight = datetime.combine(
        now.astimezone(LEGAL_TZ).date() + timedelta(days=1), datetime.min.time(), LEGAL_TZ
    )
    if due == "overdue":
        return HumanTask.due_at < now
    if due == "today":
        return and_(HumanTask.due_at >= now, HumanTask.due_at < local_midnight)
    return and_(HumanTask.due_at >= now, HumanTask.due_at < now + timedelta(days=7))


def _not_warned(now: datetime) -> ColumnElement[bool]:
    return or_(HumanTask.warn_at.is_(None), HumanTask.warn_at > now)


def light_clause(light: str, now: datetime) -> ColumnElement[bool]:
    """SQL for `task_light(task, now) == light` on open tasks."""
    not_due = or_(HumanTask.due_at.is_(None), HumanTask.due_at > now)
    if light == "red":
        return HumanTask.due_at <= now
    if light == "yellow":
        return and_(not_due, HumanTask.warn_at <= now)
    return and_(not_due, _not_warned(now))


def _filter_clauses(f: TaskFilters, now: datetime) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if f.process_id:
        clauses.append(HumanTask.process_id == f.process_id)
    if f.due in DUE_WINDOWS:
        clauses.append(_due_clause(f.due, now))
    if f.light in LIGHTS:
        clauses.append(light_clause(f.light, now))
    return clauses


def _segments(
    where: list[ColumnElement[bool]], cursor: Cursor | None, size: int, *, undated: bool = True
) -> list[Any]:
    """The rows with a due moment in (due_at, id) order, then those without one, by id.

    Two queries instead of one ordered by `due_at NULLS LAST`: each walks an index in order
    from the cursor and stops after one page.
    """
    found: list[Any] = []
    due, ident = HumanTask.due_at, HumanTask.id
    if cursor is None or cursor.at is not None:
        after = [after_ascending(due, ident, cursor)] if cursor else [due.is_not(None)]
        found.append(select(HumanTask).where(*where, *after).order_by(due, ident).limit(size + 1))
    if not undated:
        return found
    found.append(
        select(HumanTask)
        .where(*where, null_after(due, ident, cursor))
        .order_by(ident)
        .limit(size + 1)
    )
    return found


def _task_cursor(task: HumanTask) -> Cursor:
    return Cursor(task.due_at, task.id)


def _sort_key(task: HumanTask) -> tuple[bool, datetime, int]:
    return (task.due_at is None, task.due_at or datetime.min.replace(tzinfo=UTC), task.id)


def _page(
    session: Session,
    branches: list[list[ColumnElement[bool]]],
    after: str | None,
    size: int,
    *,
    undated: bool = True,
) -> Page[HumanTask]:
    cursor = decode(after)
    rows: list[HumanTask] = []
    for where in branches:
        for query in _segments(where, cursor, size, undated=undated):
            rows.extend(session.scalars(query))
    rows.sort(key=_sort_key)
    return page_of(rows[: size + 1], size, _task_cursor)


def _branches(user: User) -> list[list[ColumnElement[bool]]]:
    """Routed to the user's organization and role and unclaimed; or assigned to the user."""
    is_open = HumanTask.status == TaskStatus.OPEN
    running = ~HumanTask.instance_id.in_(_halted())  # suspended or terminated cases leave it
    pool = [
        is_open,
        HumanTask.org_code == user.org_code,
        HumanTask.role == user.role,
        HumanTask.assignee_id.is_(None),
        running,
    ]
    return [pool, [HumanTask.assignee_id == user.id, is_open, running]]


def open_task_page(
    session: Session,
    user: User,
    filters: TaskFilters,
    *,
    now: datetime,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> Page[HumanTask]:
    """One page of the user's open tasks, soonest due first (tasks without a due date last).

    Raises:
        InvalidCursor: `after` is not a cursor of this list.
    """
    extra = _filter_clauses(filters, now)
    # due_at and warn_at are set together (engine.execution.projections): a task without a
    # due moment is green and in no due window, so those filters skip the undated rows.
    undated = filters.due not in DUE_WINDOWS and filters.light not in ("red", "yellow")
    branches = [[*b, *extra] for b in _branches(user)]
    return _page(session, branches, after, size, undated=undated)


def list_open_tasks(
    session: Session,
    user: User,
    *,
    process_id: str | None = None,
    due: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> list[HumanTask]:
    """The first page of the user's open tasks; `status` filters by light."""
    filters = TaskFilters(process_id=process_id, due=due, light=status)
    return open_task_page(session, user, filters, now=now or datetime.now(UTC)).items


def count_open_tasks(
    session: Session, user: User, filters: TaskFilters, *, now: datetime
) -> LightCounts:
    """How many of the user's open tasks match the filters, by light (the light filter aside).

    One count per routing branch, each answered from its index alone.
    """
    extra = _filter_clauses(replace(filters, light=None), now)
    counts = [func.count().filter(light_clause(light, now)) for light in LIGHTS]
    totals = [0, 0, 0]
    for branch in _branches(user):
        row = session.execute(select(*counts).where(*branch, *extra)).one()
        totals = [total + int(value or 0) for total, value in zip(totals, row, strict=True)]
    return LightCounts(*totals)


def team_task_page(
    session: Session, head: User, *, now: datetime, after: str | None = None, size: int = PAGE_SIZE
) -> Page[HumanTask]:
    """For a head: one page of the open officer tasks of their organization.

    Raises:
        InvalidCursor: `after` is not a cursor of this list.
    """
    if head.role != Role.HEAD or not head.active:
        return Page([], None)
    team = [
        HumanTask.status == TaskStatus.OPEN,
        ~HumanTask.instance_id.in_(_halted()),
        HumanTask.org_code == head.org_code,
        HumanTask.role == Role.OFFICER,
    ]
    return _page(session, [team], after, size)


def done_task_page(
    session: Session, user: User, *, after: str | None = None, size: int = PAGE_SIZE
) -> Page[HumanTask]:
    """One page of the tasks the user completed (in their own name or for an officer), newest first.

    Raises:
        InvalidCursor: `after` is not a cursor of this list.
    """
    cursor = decode(after)
    query = select(HumanTask).where(
        HumanTask.completed_by_id == user.id, HumanTask.status == TaskStatus.COMPLETED
    )
    if cursor is not None:
        query = query.where(after_descending(HumanTask.completed_at, HumanTask.id, cursor))
    rows = list(
        session.scalars(
            query.order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(size + 1)
        )
    )
    return page_of(rows, size, lambda t: Cursor(t.completed_at, t.id))


def list_done_tasks(session: Session, user: User) -> list[HumanTask]:
    """The first page of the tasks the user completed."""
    return done_task_page(session, user).items


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
