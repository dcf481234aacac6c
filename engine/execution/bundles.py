"""What a deployment is made of: the files of a process folder or upload, and their parse."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from lxml import etree

from engine.errors import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class ProcessBundle:
    """The files of one process definition, before deployment."""

    process_id: str
    files: dict[str, str]
    forms: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    strict: bool = True

    @property
    def spec_hash(self) -> str:
        payload = json.dumps(
            {"files": self.files, "forms": self.forms, "manifest": self.manifest},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ElementInfo:
    """What the engine reads from one BPMN element besides the Spiff spec."""

    bpmn_id: str
    name: str
    tag: str
    lane_id: str | None
    lane_name: str | None
    properties: dict[str, str]
    line: int | None


@dataclass
class ParsedDefinition:
    """A deployed definition ready to run: Spiff specs plus element metadata."""

    spec: Any
    subprocess_specs: dict[str, Any]
    elements: dict[str, ElementInfo]
    # What the checks found that does not refuse the model (Problem.warning).
    warnings: tuple[Problem, ...] = ()
    # Which parser read it and so which serializer saves its instances: "spiff" or "camunda".
    dialect: str = "spiff"


def first_file(bundle: ProcessBundle) -> str:
    return next(iter(bundle.files), "<none>")
