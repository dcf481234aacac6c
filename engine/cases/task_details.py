"""The task as the API shows it: form, instructions, legal basis and deadline, read without the
instance's state (one read of the task and instance rows; definitions come from the cache)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer

from engine.cases.instances import OPEN_FORM
from engine.errors import NotFound
from engine.execution import definitions
from engine.execution import runner
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import User
from engine.people import access


@dataclass(frozen=True)
class TaskDetail:
    """A task as the API shows it: its form, instructions and legal basis, from the cached
    definition (the instance's state is not read)."""

    task: HumanTask
    schema: dict[str, Any]
    instructions: str
    legal_basis: str | None
    confidential: bool


def get_visible_task(
    session: Session, user: User, task_id: int, *, audit_read: bool = True
) -> TaskDetail:
    """A task of an instance the user may see, in one read of the task and instance rows.

    `audit_read=False` when the caller's next step audits the confidential read itself.

    Raises:
        NotFound: no such task, or the user may not see its instance.
    """
    row = session.execute(
        select(HumanTask, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.id == task_id)
        .options(defer(ProcessInstance.state_json))
    ).first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    task, instance = row[0], row[1]
    if not access.can_view_instance(session, user, instance):
        raise NotFound(f"task {task_id} not found")
    if audit_read:
        access.record_confidential_read(session, user, instance)
    info = definitions.definition_info(session, instance)
    parsed = definitions.parsed_definition(session, instance)
    element = parsed.elements.get(task.bpmn_id)
    return TaskDetail(
        task=task,
        schema=info.forms.get(task.bpmn_id, OPEN_FORM),
        instructions=runner.spec_instructions(parsed, task.bpmn_id),
        legal_basis=element.properties.get("legal_basis") if element else None,
        confidential=bool(instance.confidential),
    )
