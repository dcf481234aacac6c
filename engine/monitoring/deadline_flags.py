"""Yellow and red flags: an open human task reached its warn_at, or is past its due_at."""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.deadlines.rules import LEGAL_TZ
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.monitoring import notifications
from engine.monitoring.escalation import notify_new_flag
from engine.monitoring.models import NOT_FLAGGED
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.models import Level
from engine.paging import Cursor
from engine.paging import after_ascending
from engine.settings import Settings

logger = logging.getLogger(__name__)

# Full-width punctuation is the expected form of these Chinese texts.
DETAIL_SEPARATOR = "，"  # noqa: RUF001


REASON_DETAIL = "{head}（{detail}）"  # noqa: RUF001


def _local(moment: datetime) -> str:
    return moment.astimezone(LEGAL_TZ).strftime("%Y-%m-%d %H:%M")


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


def _candidates(kind: FlagKind, now: datetime) -> Any:
    """Open tasks of unfinished instances that reached `kind` and have no such flag yet."""

    # A flag counts for the task's current moment only: when a recomputed deadline moves
    # due_at or warn_at, the old flag is cleared and the new moment gets a flag of its own.
    def flagged(flag_kind: FlagKind, moment: Any) -> Any:
        return exists().where(
            Flag.task_id == HumanTask.id, Flag.kind == flag_kind, Flag.since == moment
        )

    base = (
        select(HumanTask.id)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.status == TaskStatus.OPEN, ProcessInstance.status.not_in(NOT_FLAGGED))
    )
    if kind == FlagKind.RED:
        return base.where(HumanTask.due_at < now, ~flagged(FlagKind.RED, HumanTask.due_at))
    return base.where(
        HumanTask.warn_at <= now,
        or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now),
        ~flagged(FlagKind.YELLOW, HumanTask.warn_at),
    )


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
    notify_new_flag(session, new_ids[0], now)
    return True


def _flag_batch(session: Session, task_ids: list[int], kind: FlagKind, now: datetime) -> int:
    raised = 0
    for task_id in task_ids:
        try:
            with session.begin_nested():
                raised += _raise_deadline_flag(session, task_id, kind, now)
        except Exception:
            logger.exception("raising a %s flag failed for task %s", kind, task_id)
    return raised


def _moment(kind: FlagKind) -> Any:
    """The column a kind is due by; candidates are read in (that column, id) order."""
    return HumanTask.due_at if kind == FlagKind.RED else HumanTask.warn_at


def _candidate_batch(
    session: Session, kind: FlagKind, now: datetime, after: Cursor | None, size: int
) -> list[Any]:
    column = _moment(kind)
    query = _candidates(kind, now).add_columns(column)
    if after is not None:
        query = query.where(after_ascending(column, HumanTask.id, after))
    return list(session.execute(query.order_by(column, HumanTask.id).limit(size)))


def update_deadline_flags(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Raise yellow flags on tasks past warn_at and red ones on tasks past due_at.

    Reads only the tasks due for a flag, a batch at a time, walking the (status, due_at) and
    (status, warn_at) indexes from the oldest; each flag is raised in its own savepoint.
    Returns how many flags were raised.
    """
    raised = 0
    size = settings.job_batch_size
    for kind in (FlagKind.RED, FlagKind.YELLOW):
        after: Cursor | None = None
        while True:
            with factory.begin() as session:
                rows = _candidate_batch(session, kind, now, after, size)
                raised += _flag_batch(session, [row.id for row in rows], kind, now)
            if len(rows) < size:
                break
            after = Cursor(rows[-1][1], rows[-1].id)
    return raised
