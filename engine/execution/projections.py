"""Query projections of one step: human tasks, parties, waits (timers, messages) and audit rows.

The runner's `save` calls these in the step's transaction after the workflow ran; they read the
loaded workflow and write the tables that pages, inboxes and jobs query instead of the state.
Nothing here drives SpiffWorkflow or commits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from typing import Protocol
from typing import cast

from SpiffWorkflow import TaskState as SpiffState
from SpiffWorkflow.bpmn import BpmnWorkflow as SpiffWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.audit import append_events
from engine.audit import event_row
from engine.deadlines.tasks import DeadlineService
from engine.execution import waits
from engine.execution.bundles import ParsedDefinition
from engine.models import HumanTask
from engine.models import InstanceParty
from engine.models import InstanceStatus
from engine.models import MessageCorrelation
from engine.models import MessageSubscription
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import TimerProjection
from engine.people.readers import sync_readers
from engine.people.routing import party_orgs
from engine.people.routing import route_task
from engine.settings import Settings

logger = logging.getLogger(__name__)

# Core tables for the projection writes: no identity-map bookkeeping on the hot path.
TIMER_TABLE = cast(Table, TimerProjection.__table__)
SUBSCRIPTION_TABLE = cast(Table, MessageSubscription.__table__)
CORRELATION_TABLE = cast(Table, MessageCorrelation.__table__)
WAIT_KINDS = ("timers", "messages", "signals")


class StepState(Protocol):
    """What the projections read from the runner's Step."""

    session: Session
    settings: Settings
    instance: ProcessInstance
    parsed: ParsedDefinition
    manifest: dict[str, Any]
    actor: str
    now: datetime
    workflow: SpiffWorkflow | None
    ready_before: set[str]
    completed_guids: dict[str, tuple[int | None, int | None]]
    task_rows: list[HumanTask]
    reopened: set[str]


def _workflow(step: StepState) -> SpiffWorkflow:
    assert step.workflow is not None  # noqa: S101 - the runner's open_step sets it
    return step.workflow


def audit_event(
    step: StepState,
    kind: str,
    task: SpiffTask | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit row of the step, written by `insert_audit` at the end of the step."""
    return event_row(
        instance_id=step.instance.id,
        task_guid=str(task.id) if task is not None else None,
        bpmn_id=task.task_spec.bpmn_id if task is not None else None,
        kind=kind,
        actor=step.actor,
        at=step.now,
        data_before=before,
        data_after=after,
        detail=detail,
    )


def insert_audit(session: Session, events: list[dict[str, Any]]) -> None:
    """Chain and write the step's audit rows in one INSERT (none when there are none)."""
    append_events(session, events)


def sync_human_tasks(step: StepState, ready: list[SpiffTask]) -> None:
    """Complete, cancel and add task rows; rows of the instance in the session (ORM updates
    synchronize them) and `step.task_rows` (new ones are added) stay current."""
    session = step.session
    ready_now = {str(t.id): t for t in ready}
    for guid, (user_id, on_behalf) in step.completed_guids.items():
        session.execute(
            update(HumanTask)
            .where(HumanTask.guid == guid)
            .values(
                status=TaskStatus.COMPLETED,
                completed_at=step.now,
                completed_by_id=user_id,
                on_behalf_of_id=on_behalf,
            )
        )
    # A task in ERROR keeps its open row: the admin retry makes it READY again, same guid.
    failed = {str(t.id) for t in _workflow(step).get_tasks(state=SpiffState.ERROR)}
    gone = step.ready_before - set(ready_now) - set(step.completed_guids) - failed
    if gone:
        session.execute(
            update(HumanTask)
            .where(HumanTask.guid.in_(gone), HumanTask.status == TaskStatus.OPEN)
            .values(status=TaskStatus.CANCELLED, completed_at=step.now)
        )
    new = [t for guid, t in ready_now.items() if guid not in step.ready_before]
    if new:
        deadlines = DeadlineService(session, step.settings)
        rows = [_human_task_row(step, task, deadlines) for task in new]
        session.add_all(r for r in rows if r.guid not in step.reopened)
        for row in rows:
            if row.guid in step.reopened:
                _reopen_row(session, row)
        step.task_rows.extend(rows)
        _add_parties(step, {r.org_code for r in rows if r.org_code})
    data = _workflow(step).last_task.data if _workflow(step).last_task else {}
    _add_parties(step, party_orgs(step.manifest, data))
    sync_readers(session, step.instance, step.manifest, data)


REOPENED_COLUMNS = ("lane", "role", "org_code", "assignee_id", "created_at", "due_at", "warn_at")


def _reopen_row(session: Session, fresh: HumanTask) -> None:
    """Open a completed task's row again, routed and with its deadline as a new task's."""
    values: dict[str, Any] = {name: getattr(fresh, name) for name in REOPENED_COLUMNS}
    values |= {"deadline": fresh.deadline, "status": TaskStatus.OPEN}
    values |= {"completed_at": None, "completed_by_id": None, "on_behalf_of_id": None}
    session.execute(update(HumanTask).where(HumanTask.guid == fresh.guid).values(**values))


def _effective_lane(step: StepState, task: SpiffTask) -> str | None:
    current: SpiffTask | None = task
    while current is not None:
        info = step.parsed.elements.get(current.task_spec.bpmn_id or "")
        if info is not None and info.lane_id:
            return info.lane_id
        parent_id = current.workflow.parent_task_id
        current = current.workflow.top_workflow.get_task_from_id(parent_id) if parent_id else None
    return None


def _human_task_row(step: StepState, task: SpiffTask, deadlines: DeadlineService) -> HumanTask:
    lane_id = _effective_lane(step, task)
    route = route_task(
        step.session,
        step.manifest,
        lane_id,
        task.data,
        initiator_id=step.instance.started_by_id,
        initiator_org=step.instance.started_org,
    )
    if route.org_code is None and route.assignee_id is None:
        logger.warning(
            "instance %s task %s (%s) in lane %s routes to no organization: check its data",
            step.instance.id,
            task.id,
            task.task_spec.bpmn_id,
            lane_id,
        )
    info = step.parsed.elements.get(task.task_spec.bpmn_id)
    properties = info.properties if info else {}
    deadline = deadlines.for_task(
        properties, ready_at=step.now, data=task.data, clocks=step.instance.clocks
    )
    return HumanTask(
        guid=str(task.id),
        instance_id=step.instance.id,
        process_id=step.instance.process_id,
        bpmn_id=task.task_spec.bpmn_id,
        name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
        lane=lane_id,
        role=route.role,
        org_code=route.org_code,
        assignee_id=route.assignee_id,
        status=TaskStatus.OPEN,
        created_at=step.now,
        due_at=deadline.due if deadline else None,
        warn_at=deadline.warn_at if deadline else None,
        deadline=deadline.to_dict() if deadline else None,
    )


def _add_parties(step: StepState, orgs: set[str]) -> None:
    instance = step.instance
    known = set(instance.party_orgs or [])
    if instance.started_org:
        orgs = orgs | {instance.started_org}
    new = sorted(orgs - known)
    if not new:
        return
    step.session.add_all(InstanceParty(instance_id=instance.id, org_code=code) for code in new)
    instance.party_orgs = sorted(known | set(new))


def current_waits(step: StepState) -> dict[str, Any]:
    """Timers, message subscriptions and signal waits of the step's workflow, as plain data."""
    return waits.current_waits(_workflow(step))


def waiting_elements(waits: dict[str, Any]) -> set[str]:
    return {w["bpmn_id"] for kind in WAIT_KINDS for w in waits.get(kind, [])}


def sync_waits(step: StepState, waits: dict[str, Any]) -> None:
    """Rewrite the timer and message projections that changed; always recompute next_timer_at."""
    instance = step.instance
    stored = instance.waits or {}
    if waits.get("timers") != stored.get("timers"):
        _replace_timers(step, waits["timers"])
    if any(waits.get(kind) != stored.get(kind) for kind in ("messages", "signals")):
        _replace_subscriptions(step, waits["messages"], waits["signals"])
    if waits != stored:
        instance.waits = waits
    dues = [datetime.fromisoformat(t["due"]) for t in waits["timers"]]
    # An instance in error fires nothing until it is retried; retry recomputes this.
    next_timer_at = min(dues) if dues and instance.status != InstanceStatus.ERROR else None
    if instance.next_timer_at != next_timer_at:
        instance.next_timer_at = next_timer_at


def _replace_timers(step: StepState, timers: list[dict[str, Any]]) -> None:
    instance_id = step.instance.id
    table = TIMER_TABLE
    step.session.execute(table.delete().where(table.c.instance_id == instance_id))
    step.session.add_all(
        TimerProjection(
            instance_id=instance_id, bpmn_id=t["bpmn_id"], due_at=datetime.fromisoformat(t["due"])
        )
        for t in timers
    )


def _replace_subscriptions(
    step: StepState, messages: list[dict[str, Any]], signals: list[dict[str, Any]]
) -> None:
    instance_id = step.instance.id
    table = SUBSCRIPTION_TABLE
    mine = select(table.c.id).where(table.c.instance_id == instance_id).scalar_subquery()
    step.session.execute(
        CORRELATION_TABLE.delete().where(CORRELATION_TABLE.c.subscription_id.in_(mine))
    )
    step.session.execute(table.delete().where(table.c.instance_id == instance_id))
    step.session.add_all(
        MessageSubscription(
            instance_id=instance_id,
            kind="signal",
            message_name=signal["name"],
            bpmn_id=signal["bpmn_id"],
            since=step.now,
        )
        for signal in signals
    )
    step.session.add_all(
        MessageSubscription(
            instance_id=instance_id,
            kind="message",
            message_name=message["name"],
            correlation=message["correlation"],
            properties=message["properties"],
            bpmn_id=message["bpmn_id"],
            since=step.now,
            values=[
                MessageCorrelation(
                    message_name=message["name"], key_name=key, property=prop, value=value
                )
                for key, prop, value in message["values"]
            ],
        )
        for message in messages
    )
