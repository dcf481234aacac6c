"""What the diagram renderer reads from a BPMN file, as plain dataclasses.

XML parsing (hardened lxml parser), finding the process and its BPMNPlane, shape bounds,
edge waypoints and label bounds, the BPMN element families, and the dataclasses every
drawing module shares (`Box`, `Shape`, `Ctx`). Nothing here draws SVG or knows a colour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

Element = Any  # lxml ships no type stubs; elements are lxml.etree._Element

ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "serviceTask",
        "scriptTask",
        "manualTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
EVENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
    }
)
GATEWAYS = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})


@dataclass(frozen=True)
class Box:
    """Bounds of a shape in diagram coordinates."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class Extent:
    """The smallest rectangle holding everything drawn so far."""

    x0: float = math.inf
    y0: float = math.inf
    x1: float = -math.inf
    y1: float = -math.inf

    def add(self, x: float, y: float, w: float = 0.0, h: float = 0.0) -> None:
        self.x0 = min(self.x0, x)
        self.y0 = min(self.y0, y)
        self.x1 = max(self.x1, x + w)
        self.y1 = max(self.y1, y + h)


@dataclass(frozen=True)
class Shape:
    """A BPMN element with its BPMNShape and bounds."""

    element: Element
    di: Element
    box: Box


@dataclass
class Ctx:
    """Everything the drawing functions share for one render."""

    elements: Mapping[str, Element]
    boxes: Mapping[str, Box]
    marks: Mapping[str, str]
    labels: Mapping[str, str]
    extent: Extent = field(default_factory=Extent)


def bpmn(tag: str) -> str:
    """The Clark-notation name of a tag in the BPMN model namespace."""
    return f"{{{BPMN_NS}}}{tag}"


def local(el: Element) -> str:
    """The tag of `el` without its namespace, e.g. `userTask`."""
    return str(etree.QName(el).localname)


def family(kind: str) -> str:
    """`activity`, `event` or `gateway` for those BPMN kinds, else the kind itself."""
    if kind in ACTIVITIES:
        return "activity"
    if kind in EVENTS:
        return "event"
    if kind in GATEWAYS:
        return "gateway"
    return kind


def display_name(element: Element) -> str:
    """The element's `name` attribute, stripped; empty when it has none."""
    return (element.get("name") or "").strip()


def is_expanded(element: Element, shape: Element) -> bool:
    """Whether a sub-process or call activity is drawn open (its BPMNShape says isExpanded)."""
    kind = local(element)
    return kind in CONTAINERS | {"callActivity"} and shape.get("isExpanded") == "true"


def parse(bpmn_xml: bytes) -> Element:
    """Parse without entities, DTDs, network, comments or processing instructions.

    Raises:
        ValueError: the XML is not well-formed.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        return etree.fromstring(bpmn_xml, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"The BPMN XML is not well-formed: {exc}") from exc


def find_process(root: Element, process_id: str) -> Element:
    """The `<process>` with id `process_id`.

    Raises:
        ValueError: no such process.
    """
    for process in root.iter(bpmn("process")):
        if process.get("id") == process_id:
            return process
    raise ValueError(f"The BPMN XML has no process {process_id!r}.")


def find_plane(root: Element, process_id: str, participants: Sequence[Element]) -> Element:
    """The BPMNPlane of the process, or of the collaboration holding one of its participants.

    Raises:
        ValueError: the process has no diagram.
    """
    owners = {process_id} | {p.getparent().get("id") for p in participants}
    for plane in root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"):
        if plane.get("bpmnElement") in owners:
            return plane
    raise ValueError(f"The BPMN XML has no diagram (BPMNDI) for process {process_id!r}.")


def plane_edges(plane: Element) -> dict[str, Element]:
    """The plane's BPMNEdges by the id of the flow they draw."""
    return {
        edge.get("bpmnElement"): edge
        for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge")
        if edge.get("bpmnElement")
    }


def bounds(di_el: Element) -> Box | None:
    """The dc:Bounds of a DI element; None when missing or not finite numbers."""
    dc_bounds = di_el.find(f"{{{DC_NS}}}Bounds")
    if dc_bounds is None:
        return None
    try:
        values = [float(dc_bounds.get(k, "")) for k in ("x", "y", "width", "height")]
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    return Box(*values)


def label_bounds(di_el: Element) -> Box | None:
    """The bounds of the DI element's BPMNLabel, if it has usable ones."""
    label = di_el.find(f"{{{BPMNDI_NS}}}BPMNLabel")
    return None if label is None else bounds(label)


def waypoints(edge: Element) -> list[tuple[float, float]]:
    """The edge's di:waypoints, skipping any that are not finite numbers."""
    points = []
    for wp in edge.iter(f"{{{DI_NS}}}waypoint"):
        try:
            x, y = float(wp.get("x", "")), float(wp.get("y", ""))
        except ValueError:
            continue
        if math.isfinite(x) and math.isfinite(y):
            points.append((x, y))
    return points
