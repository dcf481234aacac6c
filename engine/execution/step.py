"""One step: one transaction's work on one locked instance, and the workflow it loaded."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from SpiffWorkflow import TaskState as SpiffState
from SpiffWorkflow.bpmn import BpmnWorkflow as SpiffWorkflow
from SpiffWorkflow.exceptions import WorkflowException as SpiffWorkflowError
from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy.orm import Session

from engine.execution.bundles import ParsedDefinition
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.settings import Settings


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
    audit: list[dict[str, Any]] = field(default_factory=list)
    ready_before: set[str] = field(default_factory=set)
    completed_guids: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    task_rows: list[HumanTask] = field(default_factory=list)  # the instance's, when all known
    # Completed user tasks made READY again (return, withdraw): their rows reopen, same guid.
    reopened: set[str] = field(default_factory=set)
    error: dict[str, Any] | None = None


def ready_human_tasks(workflow: SpiffWorkflow) -> list[SpiffTask]:
    return [
        t for t in workflow.get_tasks(state=SpiffState.READY, manual=True) if t.task_spec.bpmn_id
    ]


def workflow_of(step: Step) -> SpiffWorkflow:
    assert step.workflow is not None  # noqa: S101 - open_step sets it
    return step.workflow


def find_task(workflow: SpiffWorkflow, guid: str) -> SpiffTask | None:
    from uuid import UUID

    try:
        return workflow.get_task_from_id(UUID(guid))
    except (KeyError, ValueError, SpiffWorkflowError):
        return None
