"""Checks over the BPMN XML itself, before SpiffWorkflow parses it, naming the real element.

- a duplicate id names the id and both lines;
- a sequence flow whose source or target does not exist names the flow and the missing id;
- a gateway without outgoing sequence flows is an error;
- a condition that fails the script gate names the sequence flow that holds it;
- an exclusive gateway whose outgoing flows are all conditional, without a default, is a
  warning: a case that matches none of the conditions stops there with an incident.

Errors refuse the deployment; warnings are reported beside it (`Problem.warning`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from engine.errors import Problem
from engine.execution.bundles import BPMN_NS
from engine.execution.bundles import SAFE_XML
from engine.execution.bundles import ProcessBundle
from engine.execution.checks import check_code

GATEWAYS = frozenset(
    {
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
SCOPES = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})


def structure_problems(bundle: ProcessBundle) -> list[Problem]:
    """Errors and warnings of every BPMN file of the bundle."""
    problems: list[Problem] = []
    for file_name, text in bundle.files.items():
        if file_name.lower().endswith(".dmn"):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        except etree.XMLSyntaxError:
            continue  # the parser reports it with its line
        problems += _duplicate_ids(file_name, root)
        for scope in _scopes(root):
            problems += _scope_problems(file_name, root, scope)
    return problems


def _duplicate_ids(file_name: str, root: Any) -> Iterator[Problem]:
    first_line: dict[str, int] = {}
    for node in root.iter(f"{{{BPMN_NS}}}*"):  # extensions (e.g. camunda:formField) have own ids
        node_id = node.get("id")
        if not node_id:
            continue
        if node_id in first_line:
            message = f"duplicate id {node_id!r}: lines {first_line[node_id]} and {node.sourceline}"
            yield Problem(file_name, node.sourceline, node_id, message)
        else:
            first_line[node_id] = node.sourceline or 0


def _scopes(root: Any) -> Iterator[Any]:
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        if etree.QName(node).localname in SCOPES:
            yield node


def _scope_problems(file_name: str, root: Any, scope: Any) -> list[Problem]:
    children = [c for c in scope if isinstance(c.tag, str)]
    flows = [c for c in children if etree.QName(c).localname == "sequenceFlow"]
    nodes = {c.get("id"): c for c in children if c.get("id") and c not in flows}
    known = {n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    problems = [p for flow in flows for p in _flow_problems(file_name, flow, known)]
    for node_id, node in nodes.items():
        if etree.QName(node).localname in GATEWAYS:
            outgoing = [f for f in flows if f.get("sourceRef") == node_id]
            problems += _gateway_problems(file_name, node, outgoing)
    return problems


def _flow_problems(file_name: str, flow: Any, known: set[str]) -> Iterator[Problem]:
    flow_id = flow.get("id") or "?"
    for end in ("sourceRef", "targetRef"):
        ref = flow.get(end)
        if not ref or ref not in known:
            what = "source" if end == "sourceRef" else "target"
            message = f"sequence flow {flow_id} has a missing {what}: {ref or '(none)'!r}"
            yield Problem(file_name, flow.sourceline, flow_id, message)
    condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
    source = (condition.text or "").strip() if condition is not None else ""
    if source:
        error = check_code(source, "eval")
        if error:
            line = condition.sourceline or flow.sourceline
            yield Problem(file_name, line, flow_id, f"condition: {error}")


def _gateway_problems(file_name: str, gateway: Any, outgoing: list[Any]) -> list[Problem]:
    gateway_id = gateway.get("id")
    kind = etree.QName(gateway).localname
    if not outgoing:
        message = f"{kind} has no outgoing sequence flow"
        return [Problem(file_name, gateway.sourceline, gateway_id, message)]
    conditional = [f for f in outgoing if f.find(f"{{{BPMN_NS}}}conditionExpression") is not None]
    all_conditional = len(outgoing) > 1 and len(conditional) == len(outgoing)
    if kind == "exclusiveGateway" and all_conditional and not gateway.get("default"):
        message = (
            "every outgoing flow is conditional and none is the default: "
            "a case that matches no condition stops here with an incident"
        )
        return [Problem(file_name, gateway.sourceline, gateway_id, message, warning=True)]
    return []
