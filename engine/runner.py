"""The only module that drives SpiffWorkflow: load, run, save one instance per step.

A step is: lock the instance row, load its state with cached specs, give it the guarded
script engine, apply one change (start, complete a task, deliver a message, fire timers,
retry), run engine steps, then write state and projections (engine.projections) in the same
transaction. Nothing here commits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Protocol

from SpiffWorkflow import TaskState as SpiffState
from SpiffWorkflow.bpmn import BpmnEvent as SpiffEvent
from SpiffWorkflow.bpmn import BpmnWorkflow as SpiffWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine as SpiffScriptEngine
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment as SpiffEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition as SpiffErrorEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    EscalationEventDefinition as SpiffEscalationEvent,
)
from SpiffWorkflow.exceptions import WorkflowException as SpiffWorkflowError
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessage
from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import catalog
from engine import service_tasks
from engine.catalog import ParsedDefinition
from engine.clocks import apply_clock_actions
from engine.errors import Conflict
from engine.errors import EngineError
from engine.errors import NotFound
from engine.models import ORG_CODE_LENGTH
from engine.models import TITLE_LENGTH
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.projections import audit_event
from engine.projections import current_waits
from engine.projections import insert_audit
from engine.projections import sync_human_tasks
from engine.projections import sync_waits
from engine.projections import waiting_elements
from engine.sandbox import bounded_range
from engine.sandbox import check_source
from engine.sandbox import run_with_budget
from engine.script_api import SAFE_BUILTINS
from engine.script_api import SCRIPT_API
from engine.script_api import step_time
from engine.settings import Settings
from engine.store import SERIALIZER_VERSION
from engine.store import dump_state
from engine.store import load_state

logger = logging.getLogger(__name__)

ServiceCall = Callable[[str, dict[str, Any]], Any]


class GuardedEnvironment(SpiffEnvironment):  # type: ignore[misc]
    """Task-data environment that gates and time-boxes every piece of BPMN code."""

    def __init__(self, budget: float, services: ServiceCall, now: datetime | None = None) -> None:
        builtins = {**SAFE_BUILTINS, "range": bounded_range}
        super().__init__({"__builtins__": builtins, **SCRIPT_API})
        self.budget = budget
        self.services = services
        self.now = now

    def evaluate(self, expression: str, context: Any, external_context: Any = None) -> Any:
        check_source(expression, "eval")
        parent = super().evaluate
        with step_time(self.now):
            return run_with_budget(
                lambda: parent(expression, context, external_context), self.budget
            )

    def execute(self, script: str, context: Any, external_context: Any = None) -> Any:
        check_source(script, "exec")
        parent = super().execute
        with step_time(self.now):
            return run_with_budget(lambda: parent(script, context, external_context), self.budget)

    def call_service(self, context: Any, **kwargs: Any) -> str:
        params = {k: v["value"] for k, v in kwargs["operation_params"].items()}
        return json.dumps(self.services(kwargs["operation_name"], params), ensure_ascii=False)


class GuardedScriptEngine(SpiffScriptEngine):  # type: ignore[misc]
    """Reports service failures itself: 3.2.0's own handler hides them behind a NameError."""

    def call_service(self, task: SpiffTask, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as exc:
            from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

            name = kwargs.get("operation_name")
            raise WorkflowTaskException(
                f"service {name} failed: {exc}", task=task, exception=exc
            ) from exc


@dataclass
class Step:
    """One transaction's work on one instance."""

    session: Session
    settings: Settings
    instance: ProcessInstance
    parsed: ParsedDefinition
    manifest: dict[str, Any]
    actor: str
    now: datetime
    workflow: SpiffWorkflow | None = None
    audit: list[AuditEvent] = field(default_factory=list)
    ready_before: set[str] = field(default_factory=set)
    completed_guids: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class DefinitionInfo:
    spec_hash: str
    manifest: dict[str, Any]
    forms: dict[str, Any]
    process_id: str
    version: int


class DefinitionRef(Protocol):
    """Anything naming a deployed definition: an instance row, or a row of selected columns."""

    @property
    def definition_id(self) -> int: ...

    @property
    def spec_hash(self) -> str: ...


# Keyed by (row id, content hash): a row id alone could be reused after a rolled-back deploy.
_DEFINITIONS: dict[tuple[int, str], DefinitionInfo] = {}


def definition_info(session: Session, ref: DefinitionRef) -> DefinitionInfo:
    """Immutable facts of a deployed definition, cached per process (definitions never change).

    Raises:
        NotFound: the definition row is gone.
    """
    key = (ref.definition_id, ref.spec_hash)
    info = _DEFINITIONS.get(key)
    if info is None:
        row = _definition_row(session, ref)
        info = DefinitionInfo(row.spec_hash, row.manifest, row.forms, row.process_id, row.version)
        _DEFINITIONS[key] = info
        catalog.get_parsed(row)
    return info


def _definition_row(session: Session, ref: DefinitionRef) -> ProcessDefinition:
    row = session.get(ProcessDefinition, ref.definition_id)
    if row is None or row.spec_hash != ref.spec_hash:
        raise NotFound(f"process definition {ref.definition_id} ({ref.spec_hash[:12]}) not found")
    return row


def parsed_definition(session: Session, ref: DefinitionRef) -> ParsedDefinition:
    """The parsed specs of a deployed definition, from the catalog's content-hash cache."""
    parsed = catalog.cached(ref.spec_hash)
    if parsed is None:
        parsed = catalog.get_parsed(_definition_row(session, ref))
    return parsed


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    """Load an instance with a row lock (SELECT ... FOR UPDATE; SQLite locks the database).

    Raises:
        NotFound: when there is no such instance.
    """
    instance = session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    return instance


def lock_task(session: Session, task_id: int) -> tuple[HumanTask, ProcessInstance]:
    """A human task and its instance, both locked, read after any concurrent commit.

    Raises:
        NotFound: when there is no such task.
    """
    row = session.execute(
        select(HumanTask, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.id == task_id)
        .with_for_update(of=[HumanTask, ProcessInstance])
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return row[0], row[1]


def _make_engine(step: Step) -> GuardedScriptEngine:
    def services(name: str, params: dict[str, Any]) -> Any:
        if name == "start_linked_process":
            return start_linked(step, params)
        return service_tasks.call(
            step.session, name, params, actor=step.actor, instance_id=step.instance.id
        )

    return GuardedScriptEngine(
        GuardedEnvironment(step.settings.script_time_budget_seconds, services, step.now)
    )


def open_step(
    session: Session, instance: ProcessInstance, *, settings: Settings, actor: str, now: datetime
) -> Step:
    """Load an instance's workflow for a step."""
    info = definition_info(session, instance)
    step = Step(
        session=session,
        settings=settings,
        instance=instance,
        parsed=parsed_definition(session, instance),
        manifest=info.manifest,
        actor=actor,
        now=now,
    )
    workflow = load_state(instance.state_json, step.parsed, instance.serializer_version)
    workflow.script_engine = _make_engine(step)
    step.workflow = workflow
    step.ready_before = {str(t.id) for t in ready_human_tasks(workflow)}
    return step


def ready_human_tasks(workflow: SpiffWorkflow) -> list[SpiffTask]:
    return [
        t for t in workflow.get_tasks(state=SpiffState.READY, manual=True) if t.task_spec.bpmn_id
    ]


def _workflow(step: Step) -> SpiffWorkflow:
    assert step.workflow is not None  # noqa: S101 - open_step sets it
    return step.workflow


def create_instance(
    session: Session,
    definition: ProcessDefinition,
    data: Mapping[str, Any],
    *,
    settings: Settings,
    actor: str,
    initiator_id: int | None,
    initiator_org: str | None,
    parent_id: int | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Create and run a new instance until it waits."""
    now = now or datetime.now(UTC)
    parsed = catalog.get_parsed(definition)
    workflow = SpiffWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.get_next_task(state=SpiffState.READY).data.update(dict(data))
    manifest = definition.manifest
    instance = ProcessInstance(
        definition_id=definition.id,
        spec_hash=definition.spec_hash,
        process_id=definition.process_id,
        title=_title(manifest, data, definition),
        status=InstanceStatus.RUNNING,
        state_json="{}",
        serializer_version=SERIALIZER_VERSION,
        started_by_id=initiator_id,
        started_org=initiator_org,
        township_code=_township(manifest, data),
        confidential=bool(manifest.get("confidential", False)),
        parent_id=parent_id,
        started_at=now,
        updated_at=now,
        last_progress_at=now,
        waits={},
        party_orgs=[],
        clocks={},
    )
    session.add(instance)
    session.flush()
    _DEFINITIONS.setdefault(
        (definition.id, definition.spec_hash),
        DefinitionInfo(
            definition.spec_hash,
            manifest,
            definition.forms,
            definition.process_id,
            definition.version,
        ),
    )
    step = Step(session, settings, instance, parsed, manifest, actor, now, workflow)
    workflow.script_engine = _make_engine(step)
    step.audit.append(audit_event(step, "instance_started", None, None, dict(data)))
    run_and_save(step)
    return instance


def _title(
    manifest: Mapping[str, Any], data: Mapping[str, Any], definition: ProcessDefinition
) -> str:
    key = manifest.get("title_field")
    value = data.get(key) if key else None
    base = str(manifest.get("title") or definition.name or definition.process_id)
    title = f"{base}：{value}" if value else base  # noqa: RUF001 - a Chinese title, shown as is
    return title[:TITLE_LENGTH]


def _township(manifest: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    key = manifest.get("township_field")
    value = data.get(key) if key else None
    # Only something that can be an organization code; forms validate it against the table.
    return str(value) if value and len(str(value)) <= ORG_CODE_LENGTH else None


def start_linked(step: Step, params: Mapping[str, Any]) -> dict[str, Any]:
    """Service operation: start another process linked to this instance as its child."""
    process_id = str(params.get("process_id") or "")
    definition = latest_definition(step.session, process_id)
    child = create_instance(
        step.session,
        definition,
        dict(params.get("data") or {}),
        settings=step.settings,
        actor=step.actor,
        initiator_id=step.instance.started_by_id,
        initiator_org=step.instance.started_org,
        parent_id=step.instance.id,
        now=step.now,
    )
    step.audit.append(
        audit_event(
            step,
            "linked_instance_started",
            None,
            None,
            None,
            {"child_id": child.id, "process_id": process_id},
        )
    )
    return {"instance_id": child.id, "process_id": process_id}


def latest_definition(session: Session, process_id: str) -> ProcessDefinition:
    """The newest deployed version of a process.

    Raises:
        NotFound: when the process was never deployed.
    """
    definition = session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    if definition is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    return definition


def apply_clocks(step: Step, task: SpiffTask) -> None:
    """Start, pause, resume or stop case clocks named by the completed element's properties."""
    info = step.parsed.elements.get(task.task_spec.bpmn_id or "")
    if info is None or not any(key.startswith("clock_") for key in info.properties):
        return
    clocks = step.instance.clocks or {}
    step.instance.clocks = apply_clock_actions(clocks, info.properties, step.manifest, step.now)


def complete_human_task(
    step: Step,
    task_guid: str,
    data: Mapping[str, Any],
    *,
    completed_by: int | None,
    on_behalf_of: int | None,
) -> None:
    """Apply submitted data to a READY user task and run it.

    Raises:
        Conflict: when the task is not READY any more (double submit, already moved on).
    """
    workflow = _workflow(step)
    task = _find_task(workflow, task_guid)
    if task is None or task.state != SpiffState.READY or not task.task_spec.manual:
        raise Conflict(f"task {task_guid} is no longer open")
    before = {k: task.data.get(k) for k in data}
    task.data.update(dict(data))
    task.run()
    apply_clocks(step, task)
    step.completed_guids[task_guid] = (completed_by, on_behalf_of)
    step.audit.append(audit_event(step, "task_completed", task, before, dict(data)))


def _find_task(workflow: SpiffWorkflow, guid: str) -> SpiffTask | None:
    from uuid import UUID

    try:
        return workflow.get_task_from_id(UUID(guid))
    except (KeyError, ValueError, SpiffWorkflowError):
        return None


def deliver(step: Step, name: str, payload: Mapping[str, Any]) -> None:
    """Hand a message to the waiting workflow.

    Raises:
        NotFound: when the workflow does not wait for the message any more.
    """
    workflow = _workflow(step)
    try:
        workflow.send_event(SpiffEvent(SpiffMessage(name), payload=dict(payload)))
    except SpiffWorkflowError as exc:
        raise NotFound(f"instance {step.instance.id} is not waiting for {name}") from exc
    step.audit.append(
        audit_event(step, "message_received", None, None, dict(payload), {"message": name})
    )


def reset_failed(step: Step, data_patch: Mapping[str, Any]) -> None:
    """Put the failed task back to READY with patched data (admin retry).

    Raises:
        Conflict: when the instance has no failed task.
    """
    workflow = _workflow(step)
    failed = [t for t in workflow.get_tasks(state=SpiffState.ERROR)]
    if not failed:
        raise Conflict(f"instance {step.instance.id} has no failed task to retry")
    task = failed[0]
    workflow.reset_from_task_id(task.id)
    task = workflow.get_task_from_id(task.id)
    task.data.update(dict(data_patch))
    step.instance.error = None
    step.audit.append(audit_event(step, "retried", task, None, dict(data_patch)))


def run_and_save(step: Step) -> None:
    """Run engine steps (timers first), record incidents, and save state and projections."""
    workflow = _workflow(step)

    def did_complete(task: SpiffTask) -> None:
        apply_clocks(step, task)
        if task.task_spec.bpmn_id and not task.task_spec.manual:
            step.audit.append(
                audit_event(
                    step, "engine_step", task, None, None, {"spec": task.task_spec.bpmn_name}
                )
            )

    try:
        workflow.refresh_timers()
        workflow.do_engine_steps(did_complete_task=did_complete)
        _check_uncaught_events(step)
    except SpiffWorkflowError as exc:
        step.error = _error_details(exc)
    except EngineError as exc:
        step.error = {"element": None, "line": None, "message": exc.message, "type": exc.code}
    save(step)


def _check_uncaught_events(step: Step) -> None:
    for event in _workflow(step).get_events():
        definition = event.event_definition
        if isinstance(definition, SpiffErrorEvent | SpiffEscalationEvent):
            kind = "error" if isinstance(definition, SpiffErrorEvent) else "escalation"
            code = getattr(definition, "code", None) or definition.name
            element = _thrower(step.parsed, definition)
            info = step.parsed.elements.get(element or "")
            step.error = {
                "element": element,
                "line": info.line if info else None,
                "message": f"uncaught BPMN {kind} {code!r}",
                "type": f"bpmn_{kind}",
            }


def _thrower(parsed: ParsedDefinition, definition: Any) -> str | None:
    """The BPMN id of the element that throws this event definition (specs hold the object)."""
    specs = [parsed.spec, *(s for s in parsed.subprocess_specs.values() if s is not None)]
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "event_definition", None) is definition:
                return str(task_spec.bpmn_id)
    return None


def _error_details(exc: SpiffWorkflowError) -> dict[str, Any]:
    task = getattr(exc, "task", None)
    cause = exc.__cause__ or getattr(exc, "exception", None)
    message = str(exc).strip()
    if cause is not None and str(cause) and str(cause) not in message:
        message = f"{message}: {cause}"
    return {
        "element": task.task_spec.bpmn_id
        if task is not None
        else getattr(exc, "task_spec", None) and exc.task_spec.bpmn_id,
        "line": getattr(exc, "line_number", None)
        or getattr(getattr(cause, "line", None), "real", None),
        "message": message,
        "type": getattr(exc, "error_type", type(exc).__name__),
        "task_guid": str(task.id) if task is not None else None,
    }


def save(step: Step) -> None:
    """Write state, status and every projection of the instance (one flush)."""
    workflow = _workflow(step)
    instance = step.instance
    instance.state_json = dump_state(workflow)
    instance.serializer_version = SERIALIZER_VERSION
    instance.updated_at = step.now
    ready = ready_human_tasks(workflow)
    waits = current_waits(step)
    _set_status(step, ready, waits)
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


def _set_status(step: Step, ready: list[SpiffTask], waits: dict[str, Any]) -> None:
    instance = step.instance
    workflow = _workflow(step)
    previous = instance.status
    if step.error:
        instance.status = InstanceStatus.ERROR
        instance.error = step.error
    elif previous == InstanceStatus.ERROR and _has_failed_task(workflow):
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


def _has_failed_task(workflow: SpiffWorkflow) -> bool:
    return workflow.get_next_task(state=SpiffState.ERROR) is not None


def workflow_data(step: Step) -> dict[str, Any]:
    """The instance's current data: the data of its most recently completed task."""
    workflow = _workflow(step)
    if workflow.is_completed():
        return dict(workflow.data)
    task = workflow.last_task
    return dict(task.data) if task is not None else {}


def task_data(step: Step, guid: str) -> dict[str, Any]:
    """Current data of one task (what its form is pre-filled from)."""
    task = _find_task(_workflow(step), guid)
    return dict(task.data) if task is not None else {}


def instructions(step: Step, guid: str) -> str:
    """The task's instructions for the end user, from its BPMN extensions."""
    task = _find_task(_workflow(step), guid)
    if task is None:
        return ""
    return str(task.task_spec.extensions.get("instructionsForEndUser") or "")
