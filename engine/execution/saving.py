"""The end of a step: status, incident, state and projections of the instance, in one flush."""

from __future__ import annotations

import logging
from typing import Any

from SpiffWorkflow import TaskState as SpiffState
from SpiffWorkflow.bpmn import BpmnWorkflow as SpiffWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition as SpiffErrorEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    EscalationEventDefinition as SpiffEscalationEvent,
)
from SpiffWorkflow.task import Task as SpiffTask

from engine.errors import EngineError
from engine.errors import UnstorableData
from engine.execution.bundles import ParsedDefinition
from engine.execution.projections import audit_event
from engine.execution.projections import current_waits
from engine.execution.projections import insert_audit
from engine.execution.projections import sync_human_tasks
from engine.execution.projections import sync_waits
from engine.execution.projections import waiting_elements
from engine.execution.step import Step
from engine.execution.step import ready_human_tasks
from engine.execution.step import workflow_of
from engine.execution.store import SERIALIZER_VERSION
from engine.execution.store import dump_state
from engine.models import InstanceStatus
from engine.untrusted import is_storable

logger = logging.getLogger(__name__)


def check_uncaught_events(step: Step) -> None:
    """An uncaught BPMN error is an incident; an uncaught escalation is only audited.

    BPMN 2.0 section 10.5.4: an escalation nobody catches does not interrupt the process
    (SpiffWorkflow's own test expects the instance to complete).
    """
    for event in workflow_of(step).get_events():
        definition = event.event_definition
        if not isinstance(definition, SpiffErrorEvent | SpiffEscalationEvent):
            continue
        code = getattr(definition, "code", None) or definition.name
        element = thrower(step.parsed, definition)
        if isinstance(definition, SpiffEscalationEvent):
            detail = {"escalation": code, "element": element}
            step.audit.append(audit_event(step, "uncaught_escalation", None, None, None, detail))
            continue
        info = step.parsed.elements.get(element or "")
        step.error = {
            "element": element,
            "line": info.line if info else None,
            "message": f"uncaught BPMN error {code!r}",
            "type": "bpmn_error",
        }


def thrower(parsed: ParsedDefinition, definition: Any) -> str | None:
    """The BPMN id of the element that throws this event definition (specs hold the object)."""
    specs = [parsed.spec, *(s for s in parsed.subprocess_specs.values() if s is not None)]
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "event_definition", None) is definition:
                return str(task_spec.bpmn_id)
    return None


def record_failure(step: Step, exc: Exception, running: SpiffTask | None) -> None:
    """Make an exception of a step the instance's incident, its failing task left in ERROR."""
    task = failing_task(exc, running)
    if task is not None and task.state != SpiffState.ERROR:
        task.error()
    step.error = error_details(step, exc, task)
    logger.info("instance %s: step failed at task %s", step.instance.id, task and task.id)


def failing_task(exc: Exception, running: SpiffTask | None) -> SpiffTask | None:
    """The task to retry from: the one the exception names, else the one that was running.

    A raw exception (a multi-instance collection that is not a list) comes out of a child's
    update while the running task completes: that child, still FUTURE, is the failing one.
    """
    task: SpiffTask | None = getattr(exc, "task", None)
    if task is not None or running is None:
        return task
    if running.state != SpiffState.COMPLETED:
        return running
    pending = [c for c in running.children if c.state == SpiffState.FUTURE]
    return pending[0] if pending else running


def error_details(step: Step, exc: Exception, task: SpiffTask | None) -> dict[str, Any]:
    """Element, line, message and type of a failure (the script line, else the BPMN line)."""
    cause = exc.__cause__ or getattr(exc, "exception", None)
    message = str(exc).strip() or type(exc).__name__
    if cause is not None and str(cause) and str(cause) not in message:
        message = f"{message}: {cause}"
    element = task.task_spec.bpmn_id if task is not None else None
    if element is None and getattr(exc, "task_spec", None) is not None:
        element = exc.task_spec.bpmn_id  # type: ignore[attr-defined]
    info = step.parsed.elements.get(element or "")
    line = getattr(exc, "line_number", None) or getattr(getattr(cause, "line", None), "real", None)
    if isinstance(exc, EngineError):
        line = getattr(exc, "line", None) or line
        element = getattr(exc, "element", None) or element
    return {
        "element": element,
        "line": line or (info.line if info else None),
        "message": message,
        "type": getattr(exc, "error_type", None) or getattr(exc, "code", type(exc).__name__),
        "task_guid": str(task.id) if task is not None else None,
    }


def save(step: Step) -> None:
    """Write state, status and every projection of the instance (one flush)."""
    workflow = workflow_of(step)
    instance = step.instance
    state_json = dump_state(workflow, step.parsed.dialect)
    if not is_storable(state_json):
        raise UnstorableData(f"instance {instance.id} state holds text that is not valid UTF-8")
    instance.state_json = state_json
    instance.serializer_version = SERIALIZER_VERSION
    instance.updated_at = step.now
    ready = ready_human_tasks(workflow)
    waits = current_waits(step)
    set_status(step, ready, waits)
    sync_human_tasks(step, ready)
    sync_waits(step, waits)
    if step.error:
        step.audit.append(audit_event(step, "incident", None, None, None, step.error))
        logger.error(
            "instance %s failed at %s: %s",
            instance.id,
            step.error.get("element"),
            step.error.get("message"),
        )
    insert_audit(step.session, step.audit)
    step.audit = []
    step.session.flush()


def set_status(step: Step, ready: list[SpiffTask], waits: dict[str, Any]) -> None:
    instance = step.instance
    workflow = workflow_of(step)
    previous = instance.status
    if step.error:
        instance.status = InstanceStatus.ERROR
        instance.error = step.error
    elif previous == InstanceStatus.ERROR and has_failed_task(workflow):
        # A message or timer reached another branch: the failed task still waits for a retry.
        pass
    elif workflow.is_completed():
        instance.status = InstanceStatus.COMPLETED
        instance.completed_at = step.now
    else:
        instance.status = InstanceStatus.RUNNING if ready else InstanceStatus.WAITING
    progressed = (
        bool(step.completed_guids)
        or {str(t.id) for t in ready} != step.ready_before
        or waiting_elements(waits) != waiting_elements(instance.waits or {})
    )
    if progressed or previous != instance.status:
        instance.last_progress_at = step.now


def has_failed_task(workflow: SpiffWorkflow) -> bool:
    return workflow.get_next_task(state=SpiffState.ERROR) is not None
