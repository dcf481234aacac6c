"""Deadline and stall flags and their escalation ladder (DOMAIN.md deadline tables, Escalation).

Kinds of flag:
- yellow: an open human task reached its warn_at;
- red: an open human task is past its due_at (now > due_at; its yellow flag is cleared);
- stalled: an active instance (running or waiting) made no progress for longer than the
  threshold of what it waits on: an open task, or a message from another agency while no
  human task is open at all.

Stall threshold of one waiting element, first found wins: the element's `stall_hours`
property, process.json `stall.elements[bpmn_id]`, `stall.default_hours`,
`settings.default_stall_hours`. An instance's threshold is the smallest over its open tasks
and awaited messages. A timer counts only when it has its own threshold (property or
`stall.elements`): waiting out a legal period is not a stall. An instance waiting on nothing
known uses the default.

Flags clear (cleared_at set) when their task is no longer open, when the instance completes
or is cancelled, and, for stalled flags, when the instance progresses (last_progress_at moves
past `since`, the moment the flag was counted from).

Raising a flag notifies its handler (level 0); the `escalate` job climbs the ladder of every
open flag whose next level is due. Who is notified at which level, and when a level is due, is
engine.monitoring.escalation.

Every job is a plain function `(factory, now, settings)`, idempotent, and safe with two
schedulers on one database: a flag's dedupe_key and a notification's (user, flag, level) are
UNIQUE and inserted with "on conflict do nothing"; escalation locks the flag row (FOR UPDATE
SKIP LOCKED on PostgreSQL; SQLite serializes writers). Each task, instance or flag is handled
in its own transaction: a failure is logged and the job goes on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import sessionmaker

from engine.db import Base
from engine.db import is_sqlite
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.calendar import load_calendar
from engine.deadlines.rules import LEGAL_TZ
from engine.execution import definitions
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import UTCDateTime
from engine.monitoring import escalation
from engine.monitoring import notifications
from engine.monitoring.escalation import FlagKind
from engine.monitoring.escalation import Level
from engine.monitoring.escalation import level_due
from engine.settings import Settings

logger = logging.getLogger(__name__)


ACTIVE = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
FINISHED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)
# Full-width punctuation is the expected form of these Chinese texts.
DETAIL_SEPARATOR = "，"  # noqa: RUF001
REASON_DETAIL = "{head}（{detail}）"  # noqa: RUF001

JobFunc = Callable[[sessionmaker[Session], datetime, Settings], int]


class Flag(Base):
    """A yellow, red or stalled mark on an instance (and its task), open until cleared."""

    __tablename__ = "flag"
    __table_args__ = (Index("ix_flag_open", "cleared_at", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"), index=True)
    kind: Mapped[FlagKind] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    # The moment the flag counts from: warn_at, due_at, or last_progress_at for a stall.
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    level: Mapped[int] = mapped_column(Integer, default=Level.HANDLER)
    # kind:instance:task-N:moment (the due_at or warn_at flagged), or kind:instance:episode for
    # a stall; a deadline moved by a calendar change, or a stall that recurs, gets a new key.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)


def _notify_handler(session: Session, flag_id: int, now: datetime) -> None:
    flag = session.get(Flag, flag_id)
    assert flag is not None  # noqa: S101 - the caller just inserted it
    escalation.notify_level(session, flag, Level.HANDLER, now)


def _local(moment: datetime) -> str:
    return moment.astimezone(LEGAL_TZ).strftime("%Y-%m-%d %H:%M")


def _hours_text(hours: float) -> str:
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}"


# ---- deadline flags -------------------------------------------------------------------------


def deadline_reason(task: HumanTask, kind: FlagKind) -> str:
    """Chinese text of a yellow or red flag, e.g. 「负责人审批」已超过法定期限 (3日, 依据...)."""
    deadline = task.deadline or {}
    period = deadline.get("unit_text")
    basis = deadline.get("basis")
    detail = DETAIL_SEPARATOR.join(
        part for part in (period, f"依据{basis}" if basis else None) if part
    )
    red = kind == FlagKind.RED
    if red:
        head = f"「{task.name}」已超过法定期限" if period else f"「{task.name}」已超过办理期限"
    else:
        head = f"「{task.name}」即将到期"
    parts = [REASON_DETAIL.format(head=head, detail=detail) if detail else head]
    if task.due_at is not None:
        parts.append(f"期限{'已于' if red else '将于'}{_local(task.due_at)}届满")
    return DETAIL_SEPARATOR.join(parts)


def _deadline_candidates(session: Session, now: datetime) -> list[tuple[int, FlagKind]]:
    # A flag counts for the task's current moment only: when a recomputed deadline moves
    # due_at or warn_at, the old flag is cleared and the new moment gets a flag of its own.
    def flagged(kind: FlagKind, moment: Any) -> Any:
        return exists().where(Flag.task_id == HumanTask.id, Flag.kind == kind, Flag.since == moment)

    base = (
        select(HumanTask.id)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.status == TaskStatus.OPEN, ProcessInstance.status.not_in(FINISHED))
    )
    red = base.where(HumanTask.due_at < now, ~flagged(FlagKind.RED, HumanTask.due_at))
    yellow = base.where(
        HumanTask.warn_at <= now,
        or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now),
        ~flagged(FlagKind.YELLOW, HumanTask.warn_at),
    )
    found = [(task_id, FlagKind.RED) for task_id in session.scalars(red.order_by(HumanTask.id))]
    found += [
        (task_id, FlagKind.YELLOW) for task_id in session.scalars(yellow.order_by(HumanTask.id))
    ]
    return found


def _raise_deadline_flag(session: Session, task_id: int, kind: FlagKind, now: datetime) -> bool:
    task = session.get(HumanTask, task_id)
    if task is None or task.status != TaskStatus.OPEN:
        return False
    since = task.due_at if kind == FlagKind.RED else task.warn_at
    assert since is not None  # noqa: S101 - the candidate query required it
    moment = since.astimezone(UTC).isoformat()
    row = {
        "instance_id": task.instance_id,
        "task_id": task.id,
        "kind": kind,
        "reason": deadline_reason(task, kind),
        "since": since,
        "raised_at": now,
        "level": Level.HANDLER,
        "dedupe_key": f"{kind}:{task.instance_id}:task-{task.id}:{moment}",
    }
    new_ids = notifications.insert_new(session, Flag, [row], ["dedupe_key"])
    if not new_ids:
        return False
    if kind == FlagKind.RED:
        session.execute(
            update(Flag)
            .where(Flag.task_id == task.id, Flag.kind == FlagKind.YELLOW, Flag.cleared_at.is_(None))
            .values(cleared_at=now)
        )
    _notify_handler(session, new_ids[0], now)
    return True


def update_deadline_flags(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Raise yellow flags on tasks past warn_at and red ones on tasks past due_at.

    Returns how many flags were raised.
    """
    with factory.begin() as session:
        candidates = _deadline_candidates(session, now)
    raised = 0
    for task_id, kind in candidates:
        try:
            with factory.begin() as session:
                raised += _raise_deadline_flag(session, task_id, kind, now)
        except Exception:
            logger.exception("raising a %s flag failed for task %s", kind, task_id)
    return raised


# ---- stall flags ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    """One thing an instance waits on, with its stall threshold."""

    bpmn_id: str | None
    text: str
    hours: float
    task_id: int | None = None


def _hours(value: object, where: str) -> float:
    try:
        hours = float(str(value))
    except ValueError:
        raise ValueError(f"stall threshold {where} is not a number: {value!r}") from None
    if hours <= 0:
        raise ValueError(f"stall threshold {where} must be positive, got {value!r}")
    return hours


def explicit_stall_hours(
    bpmn_id: str | None, properties: Mapping[str, str], manifest: Mapping[str, Any]
) -> float | None:
    """The threshold the element itself or process.json `stall.elements` sets, in hours.

    Raises:
        ValueError: a threshold that is not a positive number.
    """
    if properties.get("stall_hours"):
        return _hours(properties["stall_hours"], f"of {bpmn_id}")
    elements = (manifest.get("stall") or {}).get("elements") or {}
    if bpmn_id in elements:
        return _hours(elements[bpmn_id], f"stall.elements.{bpmn_id}")
    return None


def stall_hours(
    bpmn_id: str | None,
    properties: Mapping[str, str],
    manifest: Mapping[str, Any],
    settings: Settings,
) -> float:
    """The stall threshold of one waiting element, in hours (see the module docstring).

    Raises:
        ValueError: a threshold that is not a positive number.
    """
    explicit = explicit_stall_hours(bpmn_id, properties, manifest)
    if explicit is not None:
        return explicit
    default = (manifest.get("stall") or {}).get("default_hours")
    if default is not None:
        return _hours(default, "stall.default_hours")
    return float(settings.default_stall_hours)


@dataclass(frozen=True)
class _Definition:
    """What stall detection reads from a deployed definition."""

    elements: Mapping[str, Any]
    manifest: Mapping[str, Any]

    def properties(self, bpmn_id: str | None) -> dict[str, str]:
        info = self.elements.get(bpmn_id or "")
        return dict(info.properties) if info else {}

    def name(self, bpmn_id: str | None, fallback: str) -> str:
        info = self.elements.get(bpmn_id or "")
        return str(info.name) if info and info.name else fallback


def _waits(
    session: Session, row: Any, tasks: list[tuple[int, str, str]], settings: Settings
) -> list[Wait]:
    spec = _Definition(
        definitions.parsed_definition(session, row).elements,
        definitions.definition_info(session, row).manifest,
    )
    found = [
        Wait(
            bpmn_id,
            f"「{name}」",
            stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest, settings),
            task_id,
        )
        for task_id, bpmn_id, name in tasks
    ]
    waits = row.waits or {}
    for message in waits.get("messages", []):
        bpmn_id = message.get("bpmn_id")
        hours = stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest, settings)
        found.append(Wait(bpmn_id, spec.name(bpmn_id, f"等待消息「{message.get('name')}」"), hours))
    for timer in waits.get("timers", []):
        bpmn_id = timer.get("bpmn_id")
        hours_or_none = explicit_stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest)
        if hours_or_none is not None:
            found.append(Wait(bpmn_id, spec.name(bpmn_id, "等待定时"), hours_or_none))
    if not found and not waits.get("timers"):
        found.append(Wait(None, "案件", stall_hours(None, {}, spec.manifest, settings)))
    return found


def stall_reason(wait: Wait) -> str:
    """Chinese text of a stalled flag, e.g. 等待公安机关回执已超过 48 小时未有进展."""
    return f"{wait.text}已超过 {_hours_text(wait.hours)} 小时未有进展"


def _stall_candidates(session: Session) -> list[Any]:
    open_stall = exists().where(
        Flag.instance_id == ProcessInstance.id,
        Flag.kind == FlagKind.STALLED,
        Flag.cleared_at.is_(None),
    )
    return list(
        session.execute(
            select(
                ProcessInstance.id,
                ProcessInstance.definition_id,
                ProcessInstance.spec_hash,
                ProcessInstance.last_progress_at,
                ProcessInstance.waits,
            )
            .where(ProcessInstance.status.in_(ACTIVE), ~open_stall)
            .order_by(ProcessInstance.id)
        )
    )


def _open_tasks(session: Session, instance_ids: list[int]) -> dict[int, list[tuple[int, str, str]]]:
    found: dict[int, list[tuple[int, str, str]]] = {}
    if not instance_ids:
        return found
    rows = session.execute(
        select(HumanTask.instance_id, HumanTask.id, HumanTask.bpmn_id, HumanTask.name)
        .where(HumanTask.status == TaskStatus.OPEN, HumanTask.instance_id.in_(instance_ids))
        .order_by(HumanTask.id)
    )
    for instance_id, task_id, bpmn_id, name in rows:
        found.setdefault(instance_id, []).append((task_id, bpmn_id, name))
    return found


def _raise_stall_flag(session: Session, row: Any, wait: Wait, now: datetime) -> bool:
    still = session.scalar(
        select(ProcessInstance.id).where(
            ProcessInstance.id == row.id,
            ProcessInstance.status.in_(ACTIVE),
            ProcessInstance.last_progress_at == row.last_progress_at,
        )
    )
    if still is None:
        return False  # it progressed meanwhile
    since: datetime = row.last_progress_at
    flag = {
        "instance_id": row.id,
        "task_id": wait.task_id,
        "kind": FlagKind.STALLED,
        "reason": stall_reason(wait),
        "since": since,
        "raised_at": now,
        "level": Level.HANDLER,
        "dedupe_key": f"{FlagKind.STALLED}:{row.id}:{since.astimezone(UTC).isoformat()}",
    }
    new_ids = notifications.insert_new(session, Flag, [flag], ["dedupe_key"])
    if new_ids:
        _notify_handler(session, new_ids[0], now)
    return bool(new_ids)


def _check_stall(
    factory: sessionmaker[Session],
    row: Any,
    tasks: list[tuple[int, str, str]],
    now: datetime,
    settings: Settings,
) -> bool:
    with factory.begin() as session:
        waits = _waits(session, row, tasks, settings)
        if not waits:
            return False
        wait = min(waits, key=lambda w: w.hours)
        if now < row.last_progress_at + timedelta(hours=wait.hours):
            return False
        return _raise_stall_flag(session, row, wait, now)


def update_stall_flags(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Raise a stalled flag on every active instance idle past its threshold; returns how many."""
    with factory.begin() as session:
        rows = _stall_candidates(session)
        tasks = _open_tasks(session, [row.id for row in rows])
    raised = 0
    for row in rows:
        try:
            raised += _check_stall(factory, row, tasks.get(row.id, []), now, settings)
        except Exception:
            logger.exception("checking instance %s for a stall failed", row.id)
    return raised


# ---- clearing -------------------------------------------------------------------------------


def _stale_deadline_flags(now: datetime) -> Any:
    """Open deadline flags whose task's current deadline no longer justifies them."""
    not_overdue = exists().where(
        HumanTask.id == Flag.task_id, or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now)
    )
    not_warned = exists().where(
        HumanTask.id == Flag.task_id, or_(HumanTask.warn_at.is_(None), HumanTask.warn_at > now)
    )
    return or_(
        (Flag.kind == FlagKind.RED) & not_overdue, (Flag.kind == FlagKind.YELLOW) & not_warned
    )


def clear_stale_deadline_flags(session: Session, now: datetime) -> int:
    """Clear red flags of tasks no longer overdue and yellow ones not yet due to warn.

    That happens when a calendar change recomputed the task's deadline. Returns how many.
    """
    result = session.execute(
        update(Flag)
        .where(Flag.cleared_at.is_(None), _stale_deadline_flags(now))
        .values(cleared_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def clear_flags(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Clear flags whose task closed, whose instance finished, or (stalls) that progressed.

    Deadline flags also clear when a recomputed deadline no longer justifies them. Returns how
    many flags were cleared.
    """
    still_open = Flag.cleared_at.is_(None)
    finished = exists().where(
        ProcessInstance.id == Flag.instance_id, ProcessInstance.status.in_(FINISHED)
    )
    task_closed = exists().where(HumanTask.id == Flag.task_id, HumanTask.status != TaskStatus.OPEN)
    progressed = exists().where(
        ProcessInstance.id == Flag.instance_id, ProcessInstance.last_progress_at > Flag.since
    )
    deadline_kinds = (FlagKind.YELLOW, FlagKind.RED)
    statements = (
        update(Flag).where(still_open, Flag.kind.in_(deadline_kinds), or_(finished, task_closed)),
        update(Flag).where(still_open, Flag.kind == FlagKind.STALLED, or_(finished, progressed)),
    )
    cleared = 0
    with factory.begin() as session:
        for statement in statements:
            result = session.execute(
                statement.values(cleared_at=now).execution_options(synchronize_session=False)
            )
            cleared += result.rowcount  # type: ignore[attr-defined]
        cleared += clear_stale_deadline_flags(session, now)
    return cleared


# ---- escalation -----------------------------------------------------------------------------


def _lock_flag(session: Session, flag_id: int, settings: Settings) -> Flag | None:
    query = select(Flag).where(Flag.id == flag_id, Flag.cleared_at.is_(None))
    if not is_sqlite(settings.database_url):
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query.execution_options(populate_existing=True))


def _escalate_one(
    session: Session, flag_id: int, now: datetime, calendar: WorkCalendar, settings: Settings
) -> int:
    flag = _lock_flag(session, flag_id, settings)
    if flag is None:
        return 0  # cleared meanwhile, or another scheduler holds it right now
    target = level_due(FlagKind(flag.kind), flag.raised_at, now, calendar)
    sent = 0
    for level in range(flag.level + 1, target + 1):
        sent += escalation.notify_level(session, flag, level, now)
    if target > flag.level:
        flag.level = target
    return sent


def escalate(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Climb the ladder of every open flag whose next level is due; returns notifications sent."""
    with factory.begin() as session:
        calendar = load_calendar(session)
        rows = session.execute(
            select(Flag.id, Flag.kind, Flag.level, Flag.raised_at)
            .where(Flag.cleared_at.is_(None))
            .order_by(Flag.id)
        ).all()
    due = [
        row.id
        for row in rows
        if level_due(FlagKind(row.kind), row.raised_at, now, calendar) > row.level
    ]
    sent = 0
    for flag_id in due:
        try:
            with factory.begin() as session:
                sent += _escalate_one(session, flag_id, now, calendar, settings)
        except Exception:
            logger.exception("escalating flag %s failed", flag_id)
    return sent


# ---- queries for pages ----------------------------------------------------------------------


def open_flags(session: Session, instance_id: int) -> list[Flag]:
    """The open flags of one instance, oldest first (for the instance page)."""
    return list(
        session.scalars(
            select(Flag)
            .where(Flag.instance_id == instance_id, Flag.cleared_at.is_(None))
            .order_by(Flag.raised_at, Flag.id)
        )
    )


def scheduler_jobs(settings: Settings) -> dict[str, tuple[JobFunc, int]]:
    """Job id → (function, interval in seconds) for engine.monitoring.scheduler.job_table."""
    every = settings.flag_poll_seconds
    return {
        "clear_flags": (clear_flags, every),
        "update_deadline_flags": (update_deadline_flags, every),
        "update_stall_flags": (update_stall_flags, every),
        "escalate_flags": (escalate, every),
        "send_notification_emails": (notifications.send_pending_emails, every),
    }
