"""退回 (return) and 撤回 (withdraw): reopening an earlier user task of a running case.

- Return: the assignee of an open task sends the case back, with a reason, to an earlier task
  that `process.json` `return_to` lists for it (`{"head_decision": ["draft_transfer_report"]}`).
- Withdraw: the user who completed a task takes it back while every task that followed it is
  untouched (not claimed by anyone, nothing completed after it).

The reopened task keeps the data it was completed with, is routed again by its lane and its
deadline restarts from the moment it reopens (or from its `deadline_from` data key), exactly
as when it first became ready. Both are audited (`task_returned`, `task_withdrawn`).
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.execution import rewind
from engine.execution import runner
from engine.models import ACTIVE_STATUSES
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.people import access
from engine.settings import Settings
from engine.settings import load_settings

TOUCHING_KINDS = ("task_claimed", "task_reassigned")


def required_reason(reason: str | None) -> str:
    """The stripped reason.

    Raises:
        InvalidTaskData: the reason is missing or blank (field `reason`).
    """
    text = (reason or "").strip()
    if not text:
        raise InvalidTaskData("a reason is required", {"reason": "请填写理由"})
    return text


def check_running(instance: ProcessInstance) -> None:
    """Raises: Conflict unless the instance is running or waiting (not suspended or ended)."""
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance {instance.id} is {instance.status}")


def return_targets(manifest: dict[str, object], bpmn_id: str) -> list[str]:
    """The earlier user tasks `process.json` `return_to` lets this task send the case back to."""
    table = manifest.get("return_to")
    targets = table.get(bpmn_id) if isinstance(table, dict) else None
    return [str(t) for t in targets] if isinstance(targets, list) else []


def return_task(
    session: Session,
    *,
    task_id: int,
    to: str,
    reason: str | None,
    user: User,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Send a case back from an open task to an earlier task (退回).

    Raises:
        NotFound: no such task.
        InvalidTaskData: no reason, or `to` is not a task this one may return to.
        Conflict: the task is not open, the case is not running, or `to` never ran.
        NotAllowed: the user is not the task's assignee (or of its pool).
    """
    text = required_reason(reason)
    task, instance, _rows = runner.lock_task(session, task_id)
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task {task_id} is no longer open")
    check_running(instance)
    if not access.can_act_on_task(user, task):
        raise NotAllowed(f"user {user.username} may not act on task {task_id}")
    step = runner.open_step(
        session, instance, settings=settings or load_settings(), actor=user.username, now=_now(now)
    )
    if to not in return_targets(step.manifest, task.bpmn_id):
        raise InvalidTaskData(f"{task.bpmn_id} may not return to {to}", {"to": "不能退回到该环节"})
    target = rewind.last_completed(step, to)
    if target is None or task.guid not in rewind.open_descendants(step, target):
        raise Conflict(f"task {to} of instance {instance.id} did not lead to task {task_id}")
    detail = {"from_task_id": task.id, "from": task.bpmn_id, "to": to, "reason": text}
    rewind.reopen_task(step, target, "task_returned", detail)
    runner.run_and_save(step)
    return instance


def withdraw_task(
    session: Session,
    *,
    task_id: int,
    user: User,
    reason: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Take back a task one completed while what followed is untouched (撤回).

    Raises:
        NotFound: no such task.
        NotAllowed: the user did not complete the task.
        Conflict: the task is not completed, the case is not running, or a following task
            was claimed or completed (or none is open).
    """
    task, instance, _rows = runner.lock_task(session, task_id)
    if task.status != TaskStatus.COMPLETED:
        raise Conflict(f"task {task_id} is not completed")
    if task.completed_by_id != user.id:
        raise NotAllowed(f"user {user.username} did not complete task {task_id}")
    check_running(instance)
    step = runner.open_step(
        session, instance, settings=settings or load_settings(), actor=user.username, now=_now(now)
    )
    following = rewind.open_descendants(step, task.guid)
    if not following or rewind.completed_descendants(step, task.guid):
        raise Conflict(f"task {task_id} has no untouched following task")
    if _touched(session, following):
        raise Conflict(f"a task following task {task_id} was already taken up")
    detail = {"task_id": task.id, "reason": (reason or "").strip() or None}
    rewind.reopen_task(step, task.guid, "task_withdrawn", detail)
    runner.run_and_save(step)
    return instance


def _touched(session: Session, guids: list[str]) -> bool:
    """Whether any of these open tasks was claimed or handed to someone."""
    claimed = session.scalar(
        select(HumanTask.id).where(
            HumanTask.guid.in_(guids),
            HumanTask.role.is_not(None),
            HumanTask.assignee_id.is_not(None),
        )
    )
    handled = session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.task_guid.in_(guids), AuditEvent.kind.in_(TOUCHING_KINDS)
        )
    )
    return claimed is not None or handled is not None


def return_notice(session: Session, task: HumanTask) -> AuditEvent | None:
    """The audit row that last reopened this open task by a return or a withdrawal, if any."""
    if task.status != TaskStatus.OPEN:
        return None
    return session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.task_guid == task.guid,
            AuditEvent.kind.in_(("task_returned", "task_withdrawn")),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)
