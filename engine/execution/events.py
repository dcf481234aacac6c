"""External events handed to one loaded workflow: correlated messages and signals.

A message goes through SpiffWorkflow's own correlation: the event carries
`{correlation_key: {property: value}}` for the properties the waiting catch events declare
(`bpmn:correlationProperty` retrieval expressions and `spiffworkflow:processVariableCorrelation`),
and SpiffWorkflow evaluates the message's retrieval expressions against the payload when it
catches it. The payload the model receives therefore carries each correlation value under its
property id unless it has that key already. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent as SpiffEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import (
    MessageEventDefinition as SpiffBaseMessage,
)
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import (
    MultipleEventDefinition as SpiffMultiple,
)
from SpiffWorkflow.exceptions import WorkflowException as SpiffWorkflowError
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessage
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition as SpiffSignal

from engine.errors import InvalidTaskData
from engine.errors import NotFound
from engine.execution.projections import audit_event
from engine.execution.step import Step
from engine.execution.step import workflow_of
from engine.execution.waits import event_subprocess_starts


def deliver_message(
    step: Step, name: str, payload: Mapping[str, Any], correlation: Mapping[str, Any]
) -> None:
    """Hand a correlated message to the waiting workflow.

    Raises:
        NotFound: when the workflow does not wait for the message (or not with these values).
        InvalidTaskData: when the payload contradicts the correlation values.
    """
    workflow = workflow_of(step)
    definitions = _waiting_message_definitions(step, name)
    message = {**{k: v for k, v in correlation.items() if k not in payload}, **payload}
    correlations = _event_correlations(step, definitions, message, correlation)
    event = SpiffEvent(SpiffMessage(name), payload=message, correlations=correlations)
    try:
        workflow.send_event(event)
    except SpiffWorkflowError as exc:
        raise NotFound(f"instance {step.instance.id} is not waiting for {name}") from exc
    detail = {"message": name, "correlation": dict(correlation)}
    step.audit.append(audit_event(step, "message_received", None, None, message, detail))


def _waiting_message_definitions(step: Step, name: str) -> list[Any]:
    found: list[Any] = []
    for task in workflow_of(step).event_manager.tasks.values():
        definition = task.task_spec.event_definition
        multiple = isinstance(definition, SpiffMultiple)
        inner = definition.event_definitions if multiple else [definition]
        found.extend(d for d in inner if isinstance(d, SpiffBaseMessage) and d.name == name)
    starts = [d for _bpmn_id, d in event_subprocess_starts(workflow_of(step))]
    found.extend(d for d in starts if isinstance(d, SpiffBaseMessage) and d.name == name)
    return found


def _event_correlations(
    step: Step, definitions: list[Any], message: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """{key: {property: value}} of the message; checks the payload agrees with `given`.

    Raises:
        InvalidTaskData: a retrieval expression fails on the payload or disagrees with `given`.
    """
    environment = workflow_of(step).script_engine.environment
    correlations: dict[str, dict[str, Any]] = {}
    for definition in definitions:
        for prop in definition.correlation_properties:
            value = _retrieve(environment, prop, message)
            if prop.name in given and given[prop.name] != value:
                raise InvalidTaskData(
                    f"payload gives {prop.name}={value!r}, correlation {given[prop.name]!r}",
                    {f"correlation.{prop.name}": "与消息内容中的值不一致"},
                )
            for key in prop.correlation_keys:
                correlations.setdefault(key, {})[prop.name] = value
        for prop in getattr(definition, "process_correlations", []):
            if prop.name in given:
                for key in prop.correlation_keys:
                    correlations.setdefault(key, {})[prop.name] = given[prop.name]
    return correlations


def _retrieve(environment: Any, prop: Any, message: Mapping[str, Any]) -> Any:
    try:
        return environment.evaluate(prop.retrieval_expression, dict(message))
    except Exception as exc:  # any failure of BPMN code on caller data is a 422
        raise InvalidTaskData(
            f"correlation property {prop.name} cannot be read from the message: {exc}",
            {f"correlation.{prop.name}": "缺少该关联属性的值"},
        ) from exc


def deliver_signal(step: Step, name: str, payload: Mapping[str, Any]) -> None:
    """Hand a signal to the workflow (every catch event waiting on it fires).

    Raises:
        NotFound: when the workflow does not wait for the signal.
    """
    event = SpiffEvent(SpiffSignal(name), payload=dict(payload))
    try:
        workflow_of(step).send_event(event)
    except SpiffWorkflowError as exc:
        raise NotFound(f"instance {step.instance.id} is not waiting for signal {name}") from exc
    detail = {"signal": name}
    step.audit.append(audit_event(step, "signal_received", None, None, dict(payload), detail))
