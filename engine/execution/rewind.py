"""Going back in an instance: reopen an earlier completed user task, or cancel the whole workflow.

退回 (return) and 撤回 (withdraw) both reopen a completed user task with
`reset_from_task_id`: its descendants are dropped (their open rows are cancelled by the
projections) and the task is READY again under the same guid, with the data it was completed
with. 终止 (terminate) cancels every task. The caller runs `runner.run_and_save` or
`saving.save` afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow import TaskState as SpiffState
from SpiffWorkflow.task import Task as SpiffTask

from engine.errors import Conflict
from engine.execution.projections import audit_event
from engine.execution.step import Step
from engine.execution.step import find_task
from engine.execution.step import workflow_of


def last_completed(step: Step, bpmn_id: str) -> str | None:
    """The guid of the most recently completed user task with this BPMN id, if any."""
    done = [
        t
        for t in workflow_of(step).get_tasks(state=SpiffState.COMPLETED, manual=True)
        if t.task_spec.bpmn_id == bpmn_id
    ]
    if not done:
        return None
    return str(max(done, key=lambda t: t.last_state_change).id)


def open_descendants(step: Step, guid: str) -> list[str]:
    """Guids of the READY user tasks below a task (what reopening it would cancel)."""
    task = find_task(workflow_of(step), guid)
    if task is None:
        return []
    return [
        str(t.id)
        for t in _descendants(task)
        if t.state == SpiffState.READY and t.task_spec.manual and t.task_spec.bpmn_id
    ]


def completed_descendants(step: Step, guid: str) -> list[str]:
    """Guids of the user tasks below a task that were completed after it."""
    task = find_task(workflow_of(step), guid)
    if task is None:
        return []
    return [
        str(t.id)
        for t in _descendants(task)
        if t.state == SpiffState.COMPLETED and t.task_spec.manual and t.task_spec.bpmn_id
    ]


def _descendants(task: SpiffTask) -> list[SpiffTask]:
    found: list[SpiffTask] = []
    pending = list(task.children)
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.children)
    return found


def reopen_task(step: Step, guid: str, kind: str, detail: Mapping[str, Any]) -> None:
    """Make a completed user task READY again with the data it was completed with.

    Raises:
        Conflict: the task is not a completed user task of this instance.
    """
    workflow = workflow_of(step)
    task = find_task(workflow, guid)
    if task is None or task.state != SpiffState.COMPLETED or not task.task_spec.manual:
        raise Conflict(f"task {guid} is not a completed user task")
    previous = dict(task.data)
    workflow.reset_from_task_id(task.id)
    task = workflow.get_task_from_id(task.id)
    task.data.update(previous)  # reset re-inherits the parent's data: put the submission back
    step.reopened.add(guid)
    step.audit.append(audit_event(step, kind, task, None, None, dict(detail)))


def cancel_workflow(step: Step) -> None:
    """Cancel every unfinished task of the instance (终止)."""
    workflow_of(step).cancel()
