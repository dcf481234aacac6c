"""What a loaded workflow waits on from outside: timers, messages (with correlation), signals.

Every catching task SpiffWorkflow registers with the top workflow's event manager counts:
intermediate catch events, receive tasks, boundary events, event-subprocess starts, in the top
process or any subprocess, and the branches of an event-based gateway (whose events the gateway
holds in one MultipleEventDefinition). The result is plain JSON data (`instance.waits`): the
projections write it to the timer and subscription tables, the stall monitor reads it.
Nothing here changes the workflow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow as SpiffWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import (
    MessageEventDefinition as SpiffBaseMessage,
)
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import (
    MultipleEventDefinition as SpiffMultiple,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as SpiffTimer
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition as SpiffSignal
from SpiffWorkflow.task import Task as SpiffTask

logger = logging.getLogger(__name__)


def correlation_value(value: Any) -> str:
    """Canonical text of one correlation value, as stored and looked up (42 and "42" differ)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def current_waits(workflow: SpiffWorkflow) -> dict[str, Any]:
    """Timers, message subscriptions and signal waits of the workflow, sorted, as plain data."""
    timers: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    for task in list(workflow.event_manager.tasks.values()):
        for bpmn_id, definition in _definitions(task):
            if isinstance(definition, SpiffTimer):
                timers.extend(_timer(task, bpmn_id, definition))
            elif isinstance(definition, SpiffBaseMessage):
                held = task.workflow.correlations or {}
                messages.append(_message(workflow, held, task.data, bpmn_id, definition))
            elif isinstance(definition, SpiffSignal):
                signals.append({"bpmn_id": bpmn_id, "name": definition.name})
    for bpmn_id, definition in event_subprocess_starts(workflow):
        data = workflow.last_task.data if workflow.last_task is not None else {}
        if isinstance(definition, SpiffBaseMessage):
            messages.append(_message(workflow, {}, data, bpmn_id, definition))
        elif isinstance(definition, SpiffSignal):
            signals.append({"bpmn_id": bpmn_id, "name": definition.name})
    timers.sort(key=lambda t: (t["due"], t["bpmn_id"] or ""))
    messages = _unique(messages)
    messages.sort(key=lambda m: (m["name"], m["correlation"], m["bpmn_id"] or ""))
    signals = _unique(signals)
    signals.sort(key=lambda s: (s["name"], s["bpmn_id"] or ""))
    return {"timers": timers, "messages": messages, "signals": signals}


def _unique(waits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One wait per element (a started event subprocess also waits in the event manager)."""
    seen: dict[str | None, dict[str, Any]] = {}
    for wait in waits:
        seen.setdefault(wait["bpmn_id"], wait)
    return list(seen.values())


def event_subprocess_starts(workflow: SpiffWorkflow) -> Iterator[tuple[str | None, Any]]:
    """Message and signal starts of the process's event subprocesses, not yet triggered.

    SpiffWorkflow does not register these with the event manager: it starts the event
    subprocess when a matching event arrives.
    """
    if workflow.is_completed():
        return
    for name in workflow.spec.start.trigger_specs:
        spec = workflow.subprocess_specs.get(name)
        for start in spec.bpmn_start_events if spec is not None else []:
            yield start.bpmn_id, start.event_definition


def _definitions(task: SpiffTask) -> Iterator[tuple[str | None, Any]]:
    """(element id, event definition) pairs one waiting task catches."""
    definition = task.task_spec.event_definition
    if not isinstance(definition, SpiffMultiple):
        yield task.task_spec.bpmn_id, definition
        return
    # An event-based gateway: its i-th definition belongs to its i-th outgoing catch event.
    outputs = list(task.task_spec.outputs)
    for index, inner in enumerate(definition.event_definitions):
        branch = outputs[index].bpmn_id if index < len(outputs) else None
        yield branch or task.task_spec.bpmn_id, inner


def _timer(task: SpiffTask, bpmn_id: str | None, definition: Any) -> list[dict[str, Any]]:
    value = definition.details(task).value
    if not isinstance(value, str):
        return []  # a cycle that has run all its repetitions
    due = SpiffTimer.get_datetime(value).astimezone(UTC)
    return [{"bpmn_id": bpmn_id, "due": due.isoformat()}]


def _message(
    workflow: SpiffWorkflow,
    held: dict[str, dict[str, Any]],
    data: dict[str, Any],
    bpmn_id: str | None,
    definition: Any,
) -> dict[str, Any]:
    process = list(getattr(definition, "process_correlations", []))
    declared = list(definition.correlation_properties) + process
    properties = sorted({p.name for p in declared})
    keys = {key for p in declared for key in p.correlation_keys}
    held = _with_process_values(workflow, held, data, definition, process)
    values = sorted(
        [key, prop, correlation_value(value)]
        for key, props in held.items()
        if key in keys
        for prop, value in props.items()
        if prop in properties
    )
    shown = {prop: json.loads(value) for _key, prop, value in values}
    return {
        "bpmn_id": bpmn_id,
        "name": definition.name,
        "properties": properties,
        "values": values,
        "correlation": json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str),
    }


def _with_process_values(
    workflow: SpiffWorkflow,
    held: dict[str, dict[str, Any]],
    data: dict[str, Any],
    definition: Any,
    process: list[Any],
) -> dict[str, dict[str, Any]]:
    """The held correlations plus processVariableCorrelation values SpiffWorkflow did not set.

    It sets them when a catch event starts waiting, but not for an event-based gateway's
    branches nor for an event subprocess start: those are evaluated here, over the task data.
    """
    missing = [
        p for p in process if any(p.name not in held.get(key, {}) for key in p.correlation_keys)
    ]
    if not missing:
        return held
    try:
        computed = definition.calculate_correlations(workflow.script_engine, missing, data)
    except Exception:  # a value the data cannot give: the wait holds none (logged)
        logger.warning("correlation of %s cannot be computed from the task data", definition.name)
        return held
    merged = {key: dict(props) for key, props in held.items()}
    for key, props in computed.items():
        merged.setdefault(key, {}).update(props)
    return merged
