"""Recomputing open tasks' deadlines after the working-day calendar changed.

Called from every edge that changes `calendar_override` (admin page, `xietong calendar
add|remove|import`, `xietong db upgrade`) after its change is flushed and before it commits.
An open human task is recomputed when its deadline was counted with the Monday-to-Friday
fallback for a year without data, or when a changed date lies between its start and its due
day; its warn_at, due_at and explanation (skipped days, warnings) are rewritten when they
differ. Deadline flags follow at once: a red flag whose task is no longer overdue, or a yellow
one whose task is not yet due to warn, is cleared (the flag jobs raise new ones at the new
moments), and the reason text of the flags that stay is rewritten.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.rules import LEGAL_TZ
from engine.deadlines.rules import is_fallback_warning
from engine.deadlines.rules import parse_aware
from engine.deadlines.tasks import DeadlineService
from engine.errors import EngineError
from engine.execution import definitions
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.monitoring.deadline_flags import deadline_reason
from engine.monitoring.flags import clear_stale_deadline_flags
from engine.monitoring.models import FINISHED
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.settings import Settings

logger = logging.getLogger(__name__)


def _local_day(value: object) -> date | None:
    moment = parse_aware(value)
    return moment.astimezone(LEGAL_TZ).date() if moment is not None else None


def is_affected(stored: Mapping[str, Any], changed_days: Collection[date] | None) -> bool:
    """Whether a stored deadline may move: it used the fallback, or a changed date is inside."""
    if any(is_fallback_warning(str(w)) for w in stored.get("warnings", [])):
        return True
    if changed_days is None:
        return True
    first, last = _local_day(stored.get("start")), _local_day(stored.get("due"))
    if first is None or last is None:
        return False
    return any(first <= day <= last for day in changed_days)


def _open_tasks(session: Session) -> list[HumanTask]:
    return list(
        session.scalars(
            select(HumanTask)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(
                HumanTask.status == TaskStatus.OPEN,
                HumanTask.deadline.is_not(None),
                ProcessInstance.status.not_in(FINISHED),
            )
            .order_by(HumanTask.id)
        )
    )


def _properties(session: Session, instance: ProcessInstance, bpmn_id: str) -> dict[str, str]:
    info = definitions.parsed_definition(session, instance).elements.get(bpmn_id)
    return dict(info.properties) if info else {}


def _recompute_one(session: Session, service: DeadlineService, task: HumanTask) -> bool:
    instance = session.get(ProcessInstance, task.instance_id)
    if instance is None or task.deadline is None:
        return False
    properties = _properties(session, instance, task.bpmn_id)
    fresh = service.recompute(properties, task.deadline, instance.clocks)
    if fresh is None:
        return False
    explained = fresh.to_dict()
    if (task.due_at, task.warn_at, task.deadline) == (fresh.due, fresh.warn_at, explained):
        return False
    logger.info(
        "instance %s task %s deadline recomputed: due %s -> %s",
        task.instance_id,
        task.id,
        task.deadline.get("due"),
        explained["due"],
    )
    task.due_at, task.warn_at, task.deadline = fresh.due, fresh.warn_at, explained
    return True


def _refresh_reasons(session: Session, task_ids: list[int]) -> None:
    open_flags = session.scalars(
        select(Flag).where(
            Flag.task_id.in_(task_ids),
            Flag.cleared_at.is_(None),
            Flag.kind.in_((FlagKind.YELLOW, FlagKind.RED)),
        )
    )
    for flag in open_flags:
        task = session.get(HumanTask, flag.task_id)
        if task is not None:
            flag.reason = deadline_reason(task, FlagKind(flag.kind))


def recompute_open_deadlines(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    changed_days: Collection[date] | None = None,
) -> list[int]:
    """Recompute the open tasks a calendar change may move (module docstring).

    `changed_days` None means "anything may have changed". Returns the ids of the tasks whose
    deadline changed. A task whose stored deadline cannot be recomputed is logged and kept.
    """
    service = DeadlineService(session, settings)
    changed: list[int] = []
    for task in _open_tasks(session):
        if task.deadline is None or not is_affected(task.deadline, changed_days):
            continue
        try:
            if _recompute_one(session, service, task):
                changed.append(task.id)
        except (ValueError, EngineError):
            logger.exception(
                "instance %s task %s: deadline not recomputed", task.instance_id, task.id
            )
    session.flush()
    if changed:
        clear_stale_deadline_flags(session, now)
        session.expire_all()
        _refresh_reasons(session, changed)
        session.flush()
    return changed
