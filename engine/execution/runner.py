"""The only module that drives SpiffWorkflow: load, run, save one instance per step.

A step is: lock the instance row, load its state with cached specs, give it the guarded
script engine, apply one change (start, complete a task, deliver a message, fire timers,
retry), run engine steps, then write state and projections (engine.execution.projections) in the
same transaction. Nothing here commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from SpiffWorkflow import TaskState as SpiffState
from SpiffWorkflow.bpmn import BpmnWorkflow as SpiffWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.clocks import apply_clock_actions
from engine.errors import Conflict
from engine.errors import NotFound
from engine.errors import StepBudgetExceeded
from engine.execution import catalog
from engine.execution import service_tasks
from engine.execution.bounds import WorkLimits
from engine.execution.bundles import ParsedDefinition
from engine.execution.definitions import definition_info
from engine.execution.definitions import latest_definition
from engine.execution.definitions import parsed_definition
from engine.execution.definitions import remember_definition
from engine.execution.projections import audit_event
from engine.execution.saving import check_uncaught_events
from engine.execution.saving import record_failure
from engine.execution.saving import save
from engine.execution.script_engine import GuardedEnvironment
from engine.execution.script_engine import GuardedScriptEngine
from engine.execution.script_worker import pool_for
from engine.execution.step import Step
from engine.execution.step import find_task
from engine.execution.step import ready_human_tasks
from engine.execution.step import workflow_of
from engine.execution.store import SERIALIZER_VERSION
from engine.execution.store import load_state
from engine.models import ORG_CODE_LENGTH
from engine.models import TITLE_LENGTH
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import User
from engine.settings import Settings
from engine.settings import load_settings

# Engine tasks one step may run; a thousand-item multi-instance task needs a few thousand.
MAX_ENGINE_TASKS_PER_STEP = 10_000


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


def lock_task(session: Session, task_id: int) -> tuple[HumanTask, ProcessInstance, list[HumanTask]]:
    """A human task, its instance and every task row of the instance, all locked and read
    after any concurrent commit, in one query (a step's answer lists the tasks from them).

    Raises:
        NotFound: when there is no such task.
    """
    instance_of_task = select(HumanTask.instance_id).where(HumanTask.id == task_id)
    rows = session.execute(
        select(HumanTask, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.instance_id == instance_of_task.scalar_subquery())
        .order_by(HumanTask.id)
        .with_for_update(of=[HumanTask, ProcessInstance])
        .execution_options(populate_existing=True)
    ).all()
    tasks = [task for task, _instance in rows]
    for task, instance in rows:
        if task.id == task_id:
            return task, instance, tasks
    raise NotFound(f"task {task_id} not found")


def _make_engine(step: Step) -> GuardedScriptEngine:
    def services(name: str, params: dict[str, Any]) -> Any:
        if name == "start_linked_process":
            return start_linked(step, params)
        return service_tasks.call(
            step.session, name, params, actor=step.actor, instance_id=step.instance.id
        )

    settings = step.settings
    isolated = settings.script_isolation == "all" or (
        settings.script_isolation == "uploaded" and not step.manifest.get("strict", True)
    )
    workers = pool_for(settings.script_memory_mb) if isolated else None
    return GuardedScriptEngine(
        GuardedEnvironment(settings.script_time_budget_seconds, services, step.now, workers),
        WorkLimits.of(settings),
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


def create_step(
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
) -> Step:
    """Create and run a new instance until it waits; the step keeps the loaded workflow."""
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
    remember_definition(definition)
    step = Step(session, settings, instance, parsed, manifest, actor, now, workflow)
    workflow.script_engine = _make_engine(step)
    step.audit.append(audit_event(step, "instance_started", None, None, dict(data)))
    run_and_save(step)
    return step


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


def _acting_user(step: Step) -> tuple[int | None, str | None]:
    """Who submitted the task this step completed and their organization, else the instance's
    initiator and organization (a timer or message step)."""
    submitted = [user_id for user_id, _ in step.completed_guids.values() if user_id]
    user = step.session.get(User, submitted[0]) if submitted else None
    if user is None:
        return step.instance.started_by_id, step.instance.started_org
    return user.id, user.org_code


def start_linked(step: Step, params: Mapping[str, Any]) -> dict[str, Any]:
    """Service operation: start another process linked to this instance as its child.

    The child's initiator is the user whose submission started it, with their organization:
    the officer who recorded a misconduct clue follows the referral as its reporter, and the
    referral belongs to the agency that found the clue, not to a joint inspection's lead.
    """
    process_id = str(params.get("process_id") or "")
    definition = latest_definition(step.session, process_id)
    initiator_id, initiator_org = _acting_user(step)
    child = create_step(
        step.session,
        definition,
        dict(params.get("data") or {}),
        settings=step.settings,
        actor=step.actor,
        initiator_id=initiator_id,
        initiator_org=initiator_org,
        parent_id=step.instance.id,
        now=step.now,
    ).instance
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
    return {
        "instance_id": child.id,
        "process_id": process_id,
        "started_at": step.now.astimezone(UTC).isoformat(),
    }


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
    workflow = workflow_of(step)
    task = find_task(workflow, task_guid)
    if task is None or task.state != SpiffState.READY or not task.task_spec.manual:
        raise Conflict(f"task {task_guid} is no longer open")
    before = {k: task.data.get(k) for k in data}
    task.data.update(dict(data))
    try:
        task.run()
    except Exception as exc:  # the submitted data broke the task: an incident
        record_failure(step, exc, task)
        if task.state != SpiffState.COMPLETED:
            return  # the task itself failed: it stays open for the retry
    apply_clocks(step, task)
    step.completed_guids[task_guid] = (completed_by, on_behalf_of)
    step.audit.append(audit_event(step, "task_completed", task, before, dict(data)))


def reset_failed(step: Step, data_patch: Mapping[str, Any]) -> None:
    """Put the failed task back to READY with patched data (admin retry).

    The patch goes on the failed task's parent first: resetting re-reads the parent's data and
    re-checks data inputs, which is what failed for an io-specification or data-object error.

    Raises:
        Conflict: when the instance has no failed task.
    """
    workflow = workflow_of(step)
    failed = [t for t in workflow.get_tasks(state=SpiffState.ERROR)]
    if not failed:
        raise Conflict(f"instance {step.instance.id} has no failed task to retry")
    task = failed[0]
    if task.task_spec.manual:
        step.ready_before.add(str(task.id))  # its open row stays; READY again, it is not new
    step.instance.error = None
    step.audit.append(audit_event(step, "retried", task, None, dict(data_patch)))
    if task.parent is not None:
        task.parent.data.update(dict(data_patch))
    try:
        workflow.reset_from_task_id(task.id)
    except Exception as exc:  # the patched data still fails: the incident stays
        record_failure(step, exc, task)
        return
    task = workflow.get_task_from_id(task.id)
    task.data.update(dict(data_patch))


def run_and_save(step: Step) -> None:
    """Run engine steps (timers first), record incidents, and save state and projections.

    Any exception inside the engine steps becomes the instance's incident: the failing task is
    left in ERROR (the admin retry resets from it), the step's earlier progress is kept.
    """
    workflow = workflow_of(step)
    running: list[SpiffTask] = []

    deadline = _step_deadline(step.settings.step_time_budget_seconds)

    def will_complete(task: SpiffTask) -> None:
        running[:] = [task]
        deadline(task)

    def did_complete(task: SpiffTask) -> None:
        apply_clocks(step, task)
        if task.task_spec.bpmn_id and not task.task_spec.manual:
            step.audit.append(
                audit_event(
                    step, "engine_step", task, None, None, {"spec": task.task_spec.bpmn_name}
                )
            )

    if step.error is None:
        try:
            workflow.refresh_timers()
            workflow.do_engine_steps(
                will_complete_task=will_complete, did_complete_task=did_complete
            )
            check_uncaught_events(step)
        except Exception as exc:  # every failure of a step is an incident
            record_failure(step, exc, running[0] if running else None)
    save(step)


def _step_deadline(seconds: float) -> Callable[[SpiffTask], None]:
    """A check run before each engine task: past the budget, that task fails the step.

    Each script has its own budget, but a loop of engine tasks (script, gateway, back to the
    script) never waits for anyone and would hold the worker and the instance lock forever,
    piling up audit rows. The task is marked ERROR, so an admin retry starts from it.
    """
    deadline = time.monotonic() + seconds
    count = 0

    def check(task: SpiffTask) -> None:
        nonlocal count
        count += 1
        if count > MAX_ENGINE_TASKS_PER_STEP or time.monotonic() > deadline:
            task.error()
            raise StepBudgetExceeded(
                f"engine steps ran more than {MAX_ENGINE_TASKS_PER_STEP} tasks or"
                f" {seconds:g} s without waiting (a loop of automatic tasks?)",
                element=task.task_spec.bpmn_id,
            )

    return check


def workflow_data(step: Step) -> dict[str, Any]:
    """The instance's current data: the data of its most recently completed task."""
    workflow = workflow_of(step)
    if workflow.is_completed():
        return dict(workflow.data)
    task = workflow.last_task
    return dict(task.data) if task is not None else {}


def task_data(step: Step, guid: str) -> dict[str, Any]:
    """Current data of one task (what its form is pre-filled from)."""
    task = find_task(workflow_of(step), guid)
    return dict(task.data) if task is not None else {}


def instructions(step: Step, guid: str) -> str:
    """The task's instructions for the end user, from its BPMN extensions."""
    task = find_task(workflow_of(step), guid)
    if task is None:
        return ""
    return str(task.task_spec.extensions.get("instructionsForEndUser") or "")


def spec_instructions(parsed: ParsedDefinition, bpmn_id: str) -> str:
    """A user task's instructions for the end user, read from the parsed spec (no state)."""
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        task_spec = spec.task_specs.get(bpmn_id)
        if task_spec is not None:
            return str(task_spec.extensions.get("instructionsForEndUser") or "")
    return ""


def advance_instance(
    session: Session,
    *,
    instance_id: int,
    actor: str,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Fire due timers of one instance and run it on (the timer job's step)."""
    instance = lock_instance(session, instance_id)
    step = open_step(
        session,
        instance,
        settings=settings or load_settings(),
        actor=actor,
        now=now or datetime.now(UTC),
    )
    run_and_save(step)
    return instance
