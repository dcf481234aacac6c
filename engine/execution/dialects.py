"""Which SpiffWorkflow parser reads a bundle: the Spiff dialect, or Camunda Modeler's.

A bundle any of whose BPMN files uses the camunda: namespace is parsed with SpiffWorkflow's
CamundaParser, which understands camunda:collection and camunda:elementVariable
(multi-instance), camunda:decisionRef (business rule tasks), camunda:formKey and
camunda:formData (user task forms), camunda:properties and the message event's
camunda:expression / camunda:resultVariable. Every other camunda: extension (assignee,
candidate groups, listeners, connectors, async flags, input/output mappings, ...) has no
meaning here: routing comes from lanes and process.json. The checker reports each one once
per file as a warning.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnValidator as SpiffBpmnValidator
from SpiffWorkflow.camunda.parser import CamundaParser as SpiffCamundaParser
from SpiffWorkflow.spiff.parser import VALIDATOR as SPIFF_XSD
from SpiffWorkflow.spiff.parser import SpiffBpmnParser

from engine.errors import Problem
from engine.execution.bundles import SAFE_XML
from engine.execution.bundles import SPIFF_NS
from engine.execution.bundles import ProcessBundle

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ROUTING = frozenset({"assignee", "candidateGroups", "candidateUsers"})
ROUTED = "tasks go to the lane's role and organization (process.json lanes)"
# What SpiffWorkflow's Camunda parser reads (SpiffWorkflow/camunda/parser, 3.2.0).
SUPPORTED = frozenset(
    {
        "collection",
        "elementVariable",
        "decisionRef",
        "formKey",
        "formData",
        "formField",
        "value",
        "properties",
        "property",
        "expression",
        "resultVariable",
        "validation",
        "constraint",
    }
)


def is_camunda(bundle: ProcessBundle) -> bool:
    """Whether the bundle's BPMN uses camunda: extensions and no spiffworkflow: ones.

    Declaring a namespace is not using it: modelers declare both in every file.
    """
    used: set[str] = set()
    for name, text in bundle.files.items():
        if name.endswith(".bpmn"):
            used |= _extension_namespaces(text)
    return CAMUNDA_NS in used and SPIFF_NS not in used


def _extension_namespaces(text: str) -> set[str]:
    if CAMUNDA_NS not in text and SPIFF_NS not in text:
        return set()
    found: set[str] = set()
    for node in etree.fromstring(text.encode("utf-8"), SAFE_XML).iter():
        if not isinstance(node.tag, str):
            continue
        names = [node.tag, *node.attrib]
        found |= {ns for ns in (CAMUNDA_NS, SPIFF_NS) for n in names if n.startswith(f"{{{ns}}}")}
    return found


def make_parser(bundle: ProcessBundle) -> Any:
    """A fresh SpiffWorkflow parser for the bundle's dialect, validating against the XSD."""
    if is_camunda(bundle):
        return SpiffCamundaParser(validator=SpiffBpmnValidator())
    return SpiffBpmnParser(validator=SPIFF_XSD)


def ignored_extensions(bundle: ProcessBundle) -> list[Problem]:
    """One warning per file and camunda: extension that Xietong ignores."""
    warnings: list[Problem] = []
    for name, text in bundle.files.items():
        if not name.endswith(".bpmn") or CAMUNDA_NS not in text:
            continue
        root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        seen: dict[str, tuple[int | None, str | None, int]] = {}
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            for ext in _camunda_names(node):
                if ext in SUPPORTED:
                    continue
                line, element, count = seen.get(ext, (node.sourceline, _owner_id(node), 0))
                seen[ext] = (line, element, count + 1)
        for ext, (line, element, count) in sorted(seen.items()):
            times = f" ({count} times)" if count > 1 else ""
            why = ROUTED if ext in ROUTING else "SpiffWorkflow's Camunda dialect does not read it"
            message = f"camunda:{ext} is ignored{times}: {why}"
            warnings.append(Problem(name, line, element, message, warning=True))
    return warnings


def _camunda_names(node: Any) -> list[str]:
    names = [etree.QName(a).localname for a in node.attrib if a.startswith(f"{{{CAMUNDA_NS}}}")]
    if node.tag.startswith(f"{{{CAMUNDA_NS}}}"):
        names.append(etree.QName(node).localname)
    return names


def _owner_id(node: Any) -> str | None:
    while node is not None:
        if node.get("id") and not node.tag.startswith(f"{{{CAMUNDA_NS}}}"):
            return str(node.get("id"))
        node = node.getparent()
    return None
