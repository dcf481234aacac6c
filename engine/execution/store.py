"""Instance state in and out of JSON: SpiffWorkflow's serializer without the specs.

The spec and subprocess specs are dropped from every save and put back from the catalog's
cache on load (SPIFFWORKFLOW.md §7.2): an instance row holds only its own state.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow as SpiffWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer as SpiffSerializer
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG

from engine.execution.bundles import ParsedDefinition


def _make_serializer(config: dict[Any, Any]) -> Any:
    registry = SpiffSerializer.configure(config)
    registry.register(
        dt.date, lambda v: {"value": v.isoformat()}, lambda d: dt.date.fromisoformat(d["value"])
    )
    registry.register(
        decimal.Decimal, lambda v: {"value": str(v)}, lambda d: decimal.Decimal(d["value"])
    )
    return SpiffSerializer(registry)


# One serializer per parser dialect (engine.execution.dialects): the registry keys task specs
# by class name, and both dialects have a UserTask.
SERIALIZERS = {"spiff": _make_serializer(SPIFF_CONFIG), "camunda": _make_serializer(CAMUNDA_CONFIG)}
SERIALIZER_VERSION: str = SERIALIZERS["spiff"].VERSION


def dump_state(workflow: SpiffWorkflow, dialect: str = "spiff") -> str:
    """Instance-only JSON of a workflow."""
    state = SERIALIZERS[dialect].to_dict(workflow)
    state.pop("spec", None)
    state.pop("subprocess_specs", None)
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def load_state(state_json: str, parsed: ParsedDefinition, serializer_version: str) -> SpiffWorkflow:
    """Rebuild a workflow from instance-only JSON and cached spec objects.

    Raises:
        ValueError: when the state was written by another serializer format.
    """
    if serializer_version != SERIALIZER_VERSION:
        raise ValueError(
            f"instance state has serializer format {serializer_version}, "
            f"this engine reads {SERIALIZER_VERSION}: migrate it first"
        )
    state = json.loads(state_json)
    state["spec"] = parsed.spec
    state["subprocess_specs"] = parsed.subprocess_specs
    return SERIALIZERS[parsed.dialect].from_dict(state)
