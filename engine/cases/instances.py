"""Instance services: what web views, the API, jobs and the CLI call to change a case.

Each function is one step on one instance inside the caller's transaction: row lock,
optimistic version, engine run, projections. The caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.form_offers import needs_history
from engine.cases.forms import Submitter
from engine.cases.forms import validate_submission
from engine.errors import Conflict
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.execution import definitions
from engine.execution import projections
from engine.execution import runner
from engine.execution.processes import get_process
from engine.execution.processes import may_start
from engine.execution.step import Step
from engine.models import HALTED_STATUSES
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.people import access
from engine.settings import Settings
from engine.settings import load_settings

logger = logging.getLogger(__name__)

OPEN_FORM: dict[str, Any] = {"type": "object"}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    """An instance right after a step, with what answers show, taken from that step's workflow
    (no second transaction, no second deserialization)."""

    instance: ProcessInstance
    version: int
    data: dict[str, Any]
    tasks: list[HumanTask]
    status_before: InstanceStatus | None


def _outcome(step: Step, status_before: InstanceStatus | None) -> Outcome:
    info = definitions.definition_info(step.session, step.instance)
    tasks = sorted(step.task_rows, key=lambda row: row.id)
    return Outcome(step.instance, info.version, runner.workflow_data(step), tasks, status_before)


def read_instance(session: Session, user: User, instance_id: int) -> Outcome:
    """An instance the user may see, with its current data and tasks (one deserialization).

    Raises:
        NotFound: no such instance, or the user may not see it.
    """
    instance = access.get_visible_instance(session, user, instance_id)
    version = definitions.definition_info(session, instance).version
    return Outcome(
        instance, version, instance_data(session, instance), list_tasks(session, instance.id), None
    )


def start_instance(
    session: Session,
    *,
    process_id: str,
    data: Mapping[str, Any],
    user: User | None,
    actor: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Start the latest version of a process (see `start`, which also says what it shows)."""
    return start(
        session,
        process_id=process_id,
        data=data,
        user=user,
        actor=actor,
        settings=settings,
        now=now,
    ).instance


def start(
    session: Session,
    *,
    process_id: str,
    data: Mapping[str, Any],
    user: User | None,
    actor: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Start the latest version of a process with start-form data.

    Raises:
        NotFound: the process is not deployed.
        NotAllowed: the user may not start it.
        InvalidTaskData: the start data fails the start form.
    """
    definition = get_process(session, process_id)
    if user is not None and not may_start(user, definition):
        raise NotAllowed(f"user {user.username} may not start {process_id}")
    now = _now(now)
    form = definition.forms.get("start")
    submitter = Submitter(user=user)
    clean = (
        validate_submission(session, form, data, now=now, submitter=submitter)
        if form
        else dict(data)
    )
    step = runner.create_step(
        session,
        definition,
        clean,
        settings=settings or load_settings(),
        actor=actor or (user.username if user else "system"),
        initiator_id=user.id if user else None,
        initiator_org=user.org_code if user else None,
        now=now,
    )
    return _outcome(step, None)


def _check_may_act(user: User, task: HumanTask, on_behalf_reason: str | None) -> int | None:
    """The officer acted for (None when acting in one's own name).

    Raises:
        NotAllowed: when the user may not act on the task, or acts for someone without reason.
    """
    if access.can_act_on_task(user, task):
        return None
    if access.can_act_on_behalf(user, task):
        if not (on_behalf_reason or "").strip():
            raise NotAllowed("acting on behalf of an officer needs a reason")
        return task.assignee_id or 0
    raise NotAllowed(f"user {user.username} may not act on task {task.id}")


def _earlier_data(session: Session, task: HumanTask) -> list[dict[str, Any]]:
    """What earlier completions of the same task in the case submitted, oldest first."""
    events = session.scalars(
        select(AuditEvent.data_after)
        .where(
            AuditEvent.instance_id == task.instance_id,
            AuditEvent.bpmn_id == task.bpmn_id,
            AuditEvent.kind == "task_completed",
        )
        .order_by(AuditEvent.id)
    )
    return [dict(data) for data in events if data]


def complete_task(
    session: Session,
    *,
    task_id: int,
    data: Mapping[str, Any],
    user: User,
    on_behalf_reason: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Complete an open human task and run the instance on (see `complete`)."""
    return complete(
        session,
        task_id=task_id,
        data=data,
        user=user,
        on_behalf_reason=on_behalf_reason,
        settings=settings,
        now=now,
    ).instance


def complete(
    session: Session,
    *,
    task_id: int,
    data: Mapping[str, Any],
    user: User,
    on_behalf_reason: str | None = None,
    visible_only: bool = False,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Complete an open human task with form data and run the instance on.

    With `visible_only`, a task of an instance the user may not see is not found (the API),
    and a confidential one audits the read, checked on the row the step locked.

    Raises:
        NotFound: no such task (or, with `visible_only`, none the user may see).
        Conflict: the task is no longer open (completed by someone else, or moved on).
        NotAllowed: the user may not act on it.
        InvalidTaskData: the data fails the task's form.
    """
    now = _now(now)
    task, instance, task_rows = runner.lock_task(session, task_id)
    if visible_only:
        _check_visible(session, user, instance, f"task {task_id} not found")
    status_before = instance.status
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task {task_id} is no longer open")
    if instance.status in HALTED_STATUSES:
        raise Conflict(f"instance {instance.id} is {instance.status}")
    on_behalf = _check_may_act(user, task, on_behalf_reason)
    info = definitions.definition_info(session, instance)
    form = info.forms.get(
        task.bpmn_id, OPEN_FORM if not info.manifest.get("strict", True) else None
    )
    step = runner.open_step(
        session, instance, settings=settings or load_settings(), actor=user.username, now=now
    )
    step.task_rows = task_rows
    spiff_data = runner.task_data(step, task.guid)
    earlier = _earlier_data(session, task) if form and needs_history(form) else []
    submitter = Submitter(user=user, case_start=instance.started_at, earlier=earlier)
    clean = validate_submission(
        session, form or OPEN_FORM, data, now=now, context=spiff_data, submitter=submitter
    )
    runner.complete_human_task(
        step, task.guid, clean, completed_by=user.id, on_behalf_of=on_behalf or None
    )
    if on_behalf is not None:
        step.audit.append(
            projections.audit_event(
                step,
                "acted_on_behalf",
                None,
                None,
                None,
                {"task_id": task.id, "reason": on_behalf_reason},
            )
        )
    runner.run_and_save(step)
    return _outcome(step, status_before)


def _check_visible(session: Session, user: User, instance: ProcessInstance, message: str) -> None:
    """Raises NotFound when the user may not see the instance; audits a confidential read."""
    if not access.can_view_instance(session, user, instance):
        raise NotFound(message)
    access.record_confidential_read(session, user, instance)


def retry_instance(
    session: Session,
    *,
    instance_id: int,
    data_patch: Mapping[str, Any],
    actor: str,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Admin retry of a failed instance from its failed task, after patching data.

    Raises:
        Conflict: the instance is not in error.
    """
    instance = runner.lock_instance(session, instance_id)
    if instance.status != InstanceStatus.ERROR:
        raise Conflict(f"instance {instance_id} is not in error")
    step = runner.open_step(
        session, instance, settings=settings or load_settings(), actor=actor, now=_now(now)
    )
    runner.reset_failed(step, data_patch)
    runner.run_and_save(step)
    return instance


def get_instance(session: Session, instance_id: int) -> ProcessInstance:
    """An instance by id (no permission check: use engine.people.access for users).

    Raises:
        NotFound: no such instance.
    """
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    return instance


def instance_data(session: Session, instance: ProcessInstance) -> dict[str, Any]:
    """The instance's current process data (deserializes its state)."""
    step = runner.open_step(
        session, instance, settings=load_settings(), actor="reader", now=_now(None)
    )
    return runner.workflow_data(step)


@dataclass(frozen=True)
class TaskView:
    task: HumanTask
    instance: ProcessInstance
    schema: dict[str, Any]
    instructions: str
    legal_basis: str | None
    data: dict[str, Any]


def get_task_view(session: Session, task_id: int) -> TaskView:
    """Everything a task page shows: form schema, instructions, legal basis, current data.

    Raises:
        NotFound: no such task.
    """
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    instance = get_instance(session, task.instance_id)
    info = definitions.definition_info(session, instance)
    element = definitions.parsed_definition(session, instance).elements.get(task.bpmn_id)
    data: dict[str, Any] = {}
    instructions = ""
    if task.status == TaskStatus.OPEN:
        step = runner.open_step(
            session, instance, settings=load_settings(), actor="reader", now=_now(None)
        )
        data = runner.task_data(step, task.guid)
        instructions = runner.instructions(step, task.guid)
    return TaskView(
        task=task,
        instance=instance,
        schema=info.forms.get(task.bpmn_id, OPEN_FORM),
        instructions=instructions,
        legal_basis=element.properties.get("legal_basis") if element else None,
        data=data,
    )


def list_audit(session: Session, instance_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
        )
    )


def linked_instances(session: Session, instance: ProcessInstance) -> list[ProcessInstance]:
    """The parent and the children of an instance."""
    clauses = [ProcessInstance.parent_id == instance.id]
    if instance.parent_id is not None:
        clauses.append(ProcessInstance.id == instance.parent_id)
    return list(
        session.scalars(select(ProcessInstance).where(or_(*clauses)).order_by(ProcessInstance.id))
    )


def list_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(
        session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)
        )
    )


def diagram_source(session: Session, instance: ProcessInstance) -> tuple[bytes, str]:
    """The BPMN XML holding the instance's process, and the process id."""
    definition = instance.definition
    for text in definition.files.values():
        if f'id="{definition.process_id}"' in text:
            return text.encode("utf-8"), definition.process_id
    first = next(iter(definition.files.values()))
    return first.encode("utf-8"), definition.process_id


def element_names(session: Session, instance: ProcessInstance) -> dict[str, str]:
    """BPMN element id to its (Chinese) name, from the cached parsed definition."""
    elements = definitions.parsed_definition(session, instance).elements
    return {bpmn_id: info.name for bpmn_id, info in elements.items() if info.name}


def diagram_marks(
    session: Session,
    instance: ProcessInstance,
    now: datetime | None = None,
    *,
    audit: list[AuditEvent] | None = None,
    tasks: list[HumanTask] | None = None,
) -> dict[str, str]:
    """Element id → completed / active / overdue / error, for the instance diagram.

    Pass the audit log and tasks when the caller already has them, to avoid reading twice.
    """
    now = _now(now)
    marks: dict[str, str] = {}
    for event in list_audit(session, instance.id) if audit is None else audit:
        if event.bpmn_id and event.kind in {"task_completed", "engine_step"}:
            marks[event.bpmn_id] = "completed"
    for task in list_tasks(session, instance.id) if tasks is None else tasks:
        if task.status == TaskStatus.OPEN:
            overdue = task.due_at is not None and task.due_at < now
            marks[task.bpmn_id] = "overdue" if overdue else "active"
    for wait in (instance.waits or {}).get("timers", []) + (instance.waits or {}).get(
        "messages", []
    ):
        if wait.get("bpmn_id"):
            marks.setdefault(wait["bpmn_id"], "active")
    if instance.error and instance.error.get("element"):
        marks[instance.error["element"]] = "error"
    return marks
