"""Scheduled job functions: plain, idempotent, callable from tests with a fixed `now`.

Each instance is advanced in its own transaction, so one failing instance never stops the
job for the others: it is marked `error` and logged, and the job moves on.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.db import is_sqlite
from engine.execution import runner
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.settings import Settings

logger = logging.getLogger(__name__)

SCHEDULER_ACTOR = "scheduler"
ACTIVE = (InstanceStatus.RUNNING, InstanceStatus.WAITING)


def due_timer_instances(session: Session, *, now: datetime, limit: int = 500) -> list[int]:
    """Ids of the first `limit` active instances whose next timer is due (soonest first)."""
    return list(
        session.scalars(
            select(ProcessInstance.id)
            .where(ProcessInstance.next_timer_at <= now, ProcessInstance.status.in_(ACTIVE))
            .order_by(ProcessInstance.next_timer_at)
            .limit(limit)
        )
    )


def _fire_one(session: Session, instance_id: int, *, now: datetime, settings: Settings) -> bool:
    query = select(ProcessInstance).where(
        ProcessInstance.id == instance_id,
        ProcessInstance.next_timer_at <= now,
        ProcessInstance.status.in_(ACTIVE),
    )
    if not is_sqlite(settings.database_url):
        query = query.with_for_update(skip_locked=True)
    if session.scalar(query) is None:
        return False  # fired meanwhile by another worker, or locked by a user step right now
    runner.advance_instance(
        session, instance_id=instance_id, actor=SCHEDULER_ACTOR, settings=settings, now=now
    )
    return True


def _mark_failed(
    factory: sessionmaker[Session], instance_id: int, exc: Exception, now: datetime
) -> None:
    # A conditional UPDATE, not an ORM save: another scheduler may be marking the same
    # instance at this moment, and a stale-version error here would stop the whole job.
    error = {"element": None, "line": None, "message": str(exc), "type": type(exc).__name__}
    with factory.begin() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id, ProcessInstance.status.in_(ACTIVE))
            .values(
                status=InstanceStatus.ERROR,
                error=error,
                updated_at=now,
                lock_version=ProcessInstance.lock_version + 1,
            )
            .execution_options(synchronize_session=False)
        )


def fire_due_timers(factory: sessionmaker[Session], *, now: datetime, settings: Settings) -> int:
    """Advance the instances with a due BPMN timer, one batch a run; returns how many.

    The rest of what is due waits for the next run (every `timer_poll_seconds`).
    """
    with factory.begin() as session:
        ids = due_timer_instances(session, now=now, limit=settings.job_batch_size)
    fired = 0
    for instance_id in ids:
        try:
            with factory.begin() as session:
                fired += _fire_one(session, instance_id, now=now, settings=settings)
        except Exception as exc:
            logger.exception("timer job failed for instance %s", instance_id)
            _mark_failed(factory, instance_id, exc, now)
    return fired
