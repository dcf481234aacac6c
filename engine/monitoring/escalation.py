"""The escalation ladder of flags and its notification fan-out (DOMAIN.md Escalation).

One notification per user per level:
- level 0, when the flag is raised: the handler, i.e. the task's assignee, else every active
  user of the task's organization and role; for a stall with no task, the user who started
  the instance (else the officers of the starting organization);
- level 1: the heads of that organization;
- level 2: the coordinators of the justice bureau (organization type justice_bureau).
Levels 1 and 2 are reached ESCALATION_WORKING_DAYS working days after the flag was raised (at
the same time of day, Asia/Shanghai) if it is still open. Yellow flags only remind the handler.
Confidential instances notify only the users allowed to see them.

engine.monitoring.flags owns the Flag table and the jobs that raise, clear and escalate flags;
this module knows the kinds, the levels, when a level is due and whom each level notifies.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer

from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.rules import LEGAL_TZ
from engine.models import HumanTask
from engine.models import Organization
from engine.models import OrgType
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import User
from engine.monitoring import notifications
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.models import Level
from engine.people import access

# Working days after the raise at which levels 1, 2, ... are reached (index 0 is level 1).
ESCALATION_WORKING_DAYS: dict[FlagKind, tuple[int, ...]] = {
    FlagKind.YELLOW: (),
    FlagKind.RED: (1, 3),
    FlagKind.STALLED: (1, 2),
}
KIND_LABELS = {FlagKind.YELLOW: "期限预警", FlagKind.RED: "已超期", FlagKind.STALLED: "案件停滞"}
# Full-width punctuation is the expected form of these Chinese texts.
TITLE = "{prefix}{label}：{subject}"  # noqa: RUF001
BODY = "{reason}\n案件：{subject}（编号 {instance_id}）"  # noqa: RUF001
LEVEL_PREFIXES: dict[int, str] = {
    Level.HANDLER: "",
    Level.HEAD: "【升级至负责人】",
    Level.COORDINATOR: "【司法局督办】",
}


class FlagRow(Protocol):
    """What the ladder reads from a flag (engine.monitoring.models.Flag)."""

    @property
    def id(self) -> int: ...

    @property
    def instance_id(self) -> int: ...

    @property
    def task_id(self) -> int | None: ...

    @property
    def kind(self) -> FlagKind: ...

    @property
    def reason(self) -> str: ...


def _instance(session: Session, instance_id: int) -> ProcessInstance | None:
    """An instance row without its (large) SpiffWorkflow state."""
    return session.scalar(
        select(ProcessInstance)
        .options(defer(ProcessInstance.state_json))
        .where(ProcessInstance.id == instance_id)
    )


def add_working_days(moment: datetime, days: int, calendar: WorkCalendar) -> datetime:
    """The same local time of day `days` working days after `moment`'s day (Asia/Shanghai)."""
    local = moment.astimezone(LEGAL_TZ)
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            remaining -= 1
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def level_due(kind: FlagKind, raised_at: datetime, now: datetime, calendar: WorkCalendar) -> int:
    """The escalation level a flag of this kind raised at `raised_at` has reached by `now`."""
    level: int = Level.HANDLER
    for index, days in enumerate(ESCALATION_WORKING_DAYS[kind], start=1):
        if now >= add_working_days(raised_at, days, calendar):
            level = index
    return level


def _active_users(session: Session, *conditions: Any) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(Organization, Organization.code == User.org_code)
            .where(User.active.is_(True), *conditions)
            .order_by(User.id)
        )
    )


def _handlers(session: Session, task: HumanTask | None, instance: ProcessInstance) -> list[User]:
    if task is not None and task.assignee_id is not None:
        return _active_users(session, User.id == task.assignee_id)
    if task is not None:
        role = [User.role == task.role] if task.role else []
        return _active_users(session, User.org_code == task.org_code, *role)
    if instance.started_by_id is not None:
        return _active_users(session, User.id == instance.started_by_id)
    return _active_users(session, User.org_code == instance.started_org, User.role == Role.OFFICER)


def recipients(session: Session, flag: FlagRow, level: int) -> list[User]:
    """Who a flag notifies at one level of the ladder (see the module docstring)."""
    instance = _instance(session, flag.instance_id)
    if instance is None:
        return []
    task = session.get(HumanTask, flag.task_id) if flag.task_id is not None else None
    org_code = task.org_code if task is not None and task.org_code else instance.started_org
    if level == Level.HANDLER:
        users = _handlers(session, task, instance)
    elif level == Level.HEAD:
        users = _active_users(session, User.org_code == org_code, User.role == Role.HEAD)
    else:
        users = _active_users(
            session,
            Organization.type == OrgType.JUSTICE_BUREAU,
            Organization.active.is_(True),
            User.role == Role.COORDINATOR,
        )
    if instance.confidential:
        users = [user for user in users if access.can_view_instance(session, user, instance)]
    return users


def notify_level(session: Session, flag: FlagRow, level: int, now: datetime) -> int:
    """Notify the recipients of one level about a flag; returns how many notifications are new."""
    instance = _instance(session, flag.instance_id)
    title_subject = instance.title if instance is not None else f"#{flag.instance_id}"
    title = TITLE.format(
        prefix=LEVEL_PREFIXES[level], label=KIND_LABELS[flag.kind], subject=title_subject
    )
    body = BODY.format(reason=flag.reason, subject=title_subject, instance_id=flag.instance_id)
    users = recipients(session, flag, level)
    created = notifications.notify(
        session,
        user_ids=[user.id for user in users],
        flag_id=flag.id,
        level=level,
        title=title,
        body=body,
        now=now,
    )
    return len(created)


def notify_new_flag(session: Session, flag_id: int, now: datetime) -> None:
    """Notify the handler (level 0) of a flag just raised."""
    flag = session.get(Flag, flag_id)
    assert flag is not None  # noqa: S101 - the caller just inserted it
    notify_level(session, flag, Level.HANDLER, now)
