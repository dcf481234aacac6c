"""挂起 / 恢复 / 终止: suspend, resume and terminate a case.

Who: the head of the organization that owns the case (its initiator's organization) or an
admin. A suspended case takes no step: its tasks cannot be completed, returned or withdrawn,
its timers do not fire, no flag job raises flags on it and the inbox hides its tasks.

Clock rule: suspending pauses every running case clock (process.json `clocks`) and resuming
resumes them (paused time does not count, as for a 中止 in the model); the due and warning
moments of the open tasks move later by the suspended time, measured in hours. A BPMN timer
that fell due while suspended fires when the case resumes.

Terminating cancels every unfinished task and wait; the case ends as `terminated` with its
reason in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import append_events
from engine.audit import event_row
from engine.cases.operations import required_reason
from engine.deadlines.clocks import CaseClock
from engine.deadlines.clocks import ClockStatus
from engine.deadlines.clocks import apply_clock_actions
from engine.errors import Conflict
from engine.errors import NotAllowed
from engine.execution import rewind
from engine.execution import runner
from engine.execution.saving import save
from engine.models import ACTIVE_STATUSES
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.settings import Settings
from engine.settings import load_settings

TERMINABLE = (*ACTIVE_STATUSES, InstanceStatus.SUSPENDED, InstanceStatus.ERROR)


def may_manage(user: User, instance: ProcessInstance) -> bool:
    """Whether the user may suspend, resume or terminate the case."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.HEAD and user.org_code == instance.started_org


def _check_manager(user: User, instance: ProcessInstance) -> None:
    if not may_manage(user, instance):
        raise NotAllowed(f"user {user.username} may not manage instance {instance.id}")


def suspend_instance(
    session: Session,
    *,
    instance_id: int,
    reason: str | None,
    user: User,
    now: datetime | None = None,
) -> ProcessInstance:
    """Suspend a running case (挂起).

    Raises:
        InvalidTaskData: no reason. NotAllowed: not its head or an admin.
        Conflict: the case is not running or waiting.
    """
    text = required_reason(reason)
    now = now or datetime.now(UTC)
    instance = runner.lock_instance(session, instance_id)
    _check_manager(user, instance)
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance {instance_id} is {instance.status}")
    manifest = instance.definition.manifest
    running = [key for key, value in (instance.clocks or {}).items() if _is_running(value)]
    if running:
        properties = {"clock_pause": ",".join(running)}
        instance.clocks = apply_clock_actions(instance.clocks, properties, manifest, now)
    detail = {"reason": text, "status": str(instance.status), "paused_clocks": running}
    instance.status = InstanceStatus.SUSPENDED
    instance.updated_at = now
    _audit(session, instance, user, "instance_suspended", now, detail)
    return instance


def _is_running(stored: dict[str, object]) -> bool:
    return CaseClock.from_dict(stored).status == ClockStatus.RUNNING


def resume_instance(
    session: Session,
    *,
    instance_id: int,
    reason: str | None,
    user: User,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Resume a suspended case (恢复) and run it on (timers due meanwhile fire now).

    Raises:
        InvalidTaskData: no reason. NotAllowed: not its head or an admin.
        Conflict: the case is not suspended.
    """
    text = required_reason(reason)
    now = now or datetime.now(UTC)
    instance = runner.lock_instance(session, instance_id)
    _check_manager(user, instance)
    if instance.status != InstanceStatus.SUSPENDED:
        raise Conflict(f"instance {instance_id} is not suspended")
    suspended = _last_suspension(session, instance_id)
    paused = [str(c) for c in (suspended.detail or {}).get("paused_clocks", [])]
    if paused:
        properties = {"clock_resume": ",".join(paused)}
        manifest = instance.definition.manifest
        instance.clocks = apply_clock_actions(instance.clocks, properties, manifest, now)
    _shift_open_deadlines(session, instance_id, now - suspended.at)
    instance.status = InstanceStatus(str((suspended.detail or {}).get("status", "running")))
    detail = {"reason": text, "suspended_seconds": int((now - suspended.at).total_seconds())}
    _audit(session, instance, user, "instance_resumed", now, detail)
    step = runner.open_step(
        session, instance, settings=settings or load_settings(), actor=user.username, now=now
    )
    runner.run_and_save(step)
    return instance


def _last_suspension(session: Session, instance_id: int) -> AuditEvent:
    row = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance_id, AuditEvent.kind == "instance_suspended")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if row is None:
        raise Conflict(f"instance {instance_id} has no suspension on record")
    return row


def _shift_open_deadlines(session: Session, instance_id: int, by: timedelta) -> None:
    rows = session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN
        )
    )
    for row in rows:
        row.due_at = row.due_at + by if row.due_at else None
        row.warn_at = row.warn_at + by if row.warn_at else None
        if row.deadline:
            moved = int(row.deadline.get("suspended_seconds", 0)) + int(by.total_seconds())
            row.deadline = {**row.deadline, "suspended_seconds": moved}


def terminate_instance(
    session: Session,
    *,
    instance_id: int,
    reason: str | None,
    user: User,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """End a case before its time (终止: merged into another, withdrawn by law, ...).

    Raises:
        InvalidTaskData: no reason. NotAllowed: not its head or an admin.
        Conflict: the case has already ended.
    """
    text = required_reason(reason)
    now = now or datetime.now(UTC)
    instance = runner.lock_instance(session, instance_id)
    _check_manager(user, instance)
    if instance.status not in TERMINABLE:
        raise Conflict(f"instance {instance_id} is {instance.status}")
    detail = {"reason": text, "status": str(instance.status)}
    step = runner.open_step(
        session, instance, settings=settings or load_settings(), actor=user.username, now=now
    )
    rewind.cancel_workflow(step)
    instance.error = None
    save(step)
    instance.status = InstanceStatus.TERMINATED
    instance.completed_at = now
    _audit(session, instance, user, "instance_terminated", now, detail)
    return instance


def _audit(
    session: Session,
    instance: ProcessInstance,
    user: User,
    kind: str,
    now: datetime,
    detail: Mapping[str, Any],
) -> None:
    row = event_row(instance_id=instance.id, kind=kind, actor=user.username, at=now, detail=detail)
    append_events(session, [row])
    session.flush()
