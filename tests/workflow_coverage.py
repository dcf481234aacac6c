"""Sequence-flow coverage of the domain models over a test run.

A flow counts as traversed when a finished task's nearest ancestor element in SpiffWorkflow's
task tree is the flow's source and the task's element is its target.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from lxml import etree
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.task import Task

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def flows_of(bpmn_path: Path) -> dict[str, tuple[str, str]]:
    """Every sequence flow id of a BPMN file with its (source, target)."""
    root = etree.parse(str(bpmn_path)).getroot()
    return {
        flow.get("id"): (flow.get("sourceRef"), flow.get("targetRef"))
        for flow in root.iter(f"{BPMN}sequenceFlow")
    }


def model_flows() -> dict[str, dict[str, tuple[str, str]]]:
    """process id → its flows, for every folder in workflows/."""
    result: dict[str, dict[str, tuple[str, str]]] = {}
    for folder in sorted(p for p in WORKFLOWS.iterdir() if p.is_dir()):
        flows: dict[str, tuple[str, str]] = {}
        for path in folder.glob("*.bpmn"):
            flows.update(flows_of(path))
        result[folder.name] = flows
    return result


def _element_ancestor(task: Task) -> Task | None:
    parent = task.parent
    while parent is not None and not parent.task_spec.bpmn_id:
        parent = parent.parent
    if parent is None and task.workflow.parent_task_id is not None:
        top = task.workflow.top_workflow
        return top.get_task_from_id(task.workflow.parent_task_id)
    return parent


def _reached(task: Task, completed_specs: set[str]) -> bool:
    """Completed; or entered and interrupted by a boundary event; or a branch merged into a
    join that fired (SpiffWorkflow cancels the join task of every branch but the last)."""
    if task.state == TaskState.COMPLETED:
        return True
    parent = task.parent
    if task.state != TaskState.CANCELLED or parent is None or parent.state != TaskState.COMPLETED:
        return False
    if isinstance(parent.task_spec, BoundaryEventSplit):
        return True
    is_join = isinstance(task.task_spec, ParallelGateway | InclusiveGateway)
    return is_join and task.task_spec.name in completed_specs


def traversed_pairs(workflow: BpmnWorkflow) -> set[tuple[str, str]]:
    """(source element, target element) pairs the workflow has moved along."""
    pairs: set[tuple[str, str]] = set()
    tasks = workflow.get_tasks()
    completed_specs = {t.task_spec.name for t in tasks if t.state == TaskState.COMPLETED}
    for task in tasks:
        if not task.task_spec.bpmn_id or not _reached(task, completed_specs):
            continue
        ancestor = _element_ancestor(task)
        if ancestor is not None and ancestor.task_spec.bpmn_id != task.task_spec.bpmn_id:
            pairs.add((ancestor.task_spec.bpmn_id, task.task_spec.bpmn_id))
    return pairs


class FlowCoverage:
    """Flows traversed per process during a test session."""

    def __init__(self) -> None:
        self.models = model_flows()
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.tests_recorded = 0

    def record(self, process_id: str, workflow: BpmnWorkflow) -> None:
        flows = self.models.get(process_id)
        if flows is None:
            return
        pairs = traversed_pairs(workflow)
        self.seen[process_id].update(fid for fid, pair in flows.items() if pair in pairs)

    def missing(self) -> dict[str, list[str]]:
        return {
            pid: sorted(set(flows) - self.seen[pid])
            for pid, flows in self.models.items()
            if set(flows) - self.seen[pid]
        }

    def percent(self) -> float:
        total = sum(len(f) for f in self.models.values())
        covered = sum(len(self.seen[p] & set(f)) for p, f in self.models.items())
        return 100.0 * covered / total if total else 100.0


COVERAGE = FlowCoverage()
