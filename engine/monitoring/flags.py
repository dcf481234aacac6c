"""Flags and their lifecycle: clearing, the escalation job, page queries, the job table.

Yellow and red flags are raised by engine.monitoring.deadline_flags, stalled ones by
engine.monitoring.stalls; the table is engine.monitoring.models.Flag (DOMAIN.md deadline
tables, Escalation).

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
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.db import is_sqlite
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.calendar import load_calendar
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.monitoring import escalation
from engine.monitoring import notifications
from engine.monitoring.deadline_flags import update_deadline_flags
from engine.monitoring.escalation import level_due
from engine.monitoring.models import FINISHED
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.stalls import update_stall_flags
from engine.settings import Settings

logger = logging.getLogger(__name__)


JobFunc = Callable[[sessionmaker[Session], datetime, Settings], int]


# ---- deadline flags -------------------------------------------------------------------------


# ---- stall flags ----------------------------------------------------------------------------


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

    Deadline flags also clear when a recomputed deadline no longer justifies them. Clears a
    batch at a time: each UPDATE names at most one batch of flags, chosen by a subquery
    rather than a list of ids. Returns how many flags were cleared.
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
    conditions = (
        (still_open, Flag.kind.in_(deadline_kinds), or_(finished, task_closed)),
        (still_open, Flag.kind == FlagKind.STALLED, or_(finished, progressed)),
        # A recomputed deadline (calendar change) that no longer justifies the flag.
        (still_open, _stale_deadline_flags(now)),
    )
    cleared = 0
    for where in conditions:
        while True:
            batch = select(Flag.id).where(*where).limit(settings.job_batch_size).scalar_subquery()
            with factory.begin() as session:
                result = session.execute(
                    update(Flag)
                    .where(Flag.id.in_(batch))
                    .values(cleared_at=now)
                    .execution_options(synchronize_session=False)
                )
            count: int = result.rowcount  # type: ignore[attr-defined]
            cleared += count
            if count < settings.job_batch_size:
                break
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


def _ladder_candidates(now: datetime) -> Any:
    """Open flags below the top of their ladder, raised at least a day before `now`.

    A level is reached some working days after the raise, so never in under a day.
    """
    climbing = [
        and_(
            Flag.kind == kind,
            Flag.level < len(days),
            Flag.raised_at <= now - timedelta(days=days[0]),
        )
        for kind, days in escalation.ESCALATION_WORKING_DAYS.items()
        if days
    ]
    return select(Flag.id, Flag.kind, Flag.level, Flag.raised_at).where(
        Flag.cleared_at.is_(None), or_(false(), *climbing)
    )


def _escalate_batch(
    session: Session, rows: list[Any], now: datetime, calendar: WorkCalendar, settings: Settings
) -> int:
    sent = 0
    for row in rows:
        if level_due(FlagKind(row.kind), row.raised_at, now, calendar) <= row.level:
            continue
        try:
            with session.begin_nested():
                sent += _escalate_one(session, row.id, now, calendar, settings)
        except Exception:
            logger.exception("escalating flag %s failed", row.id)
    return sent


def escalate(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Climb the ladder of every open flag whose next level is due; returns notifications sent.

    Reads only flags that can still climb, a batch at a time (keyset on the flag id).
    """
    sent, after = 0, 0
    while True:
        with factory.begin() as session:
            calendar = load_calendar(session)
            query = _ladder_candidates(now).where(Flag.id > after).order_by(Flag.id)
            rows = list(session.execute(query.limit(settings.job_batch_size)))
            sent += _escalate_batch(session, rows, now, calendar, settings)
        if len(rows) < settings.job_batch_size:
            return sent
        after = rows[-1].id


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
