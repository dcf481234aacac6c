"""Drawing message flows, associations and data associations.

Message flows join pools or nodes of different participants: a dashed line from a small
circle to an open arrowhead. Associations join artifacts (annotations, groups) to what
they describe: dotted, with an open arrowhead where `associationDirection` says so. Data
input and output associations join data objects and stores to activities: dotted, with an
open arrowhead at the target. Routes follow the DI waypoints, else a connector
(`edges.route`).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.diagram import svg
from engine.diagram.edges import arrowhead
from engine.diagram.edges import flow_label
from engine.diagram.edges import route
from engine.diagram.model import Ctx
from engine.diagram.model import Element
from engine.diagram.model import bpmn
from engine.diagram.model import display_name
from engine.diagram.model import local

CONNECTION_COLOUR = "#5b6678"
MESSAGE_DASH = "7 4"
DOTTED = "2 3"
DATA_ASSOCIATIONS = frozenset({"dataInputAssociation", "dataOutputAssociation"})
CONNECTIONS = frozenset({"messageFlow", "association"}) | DATA_ASSOCIATIONS

Points = Sequence[tuple[float, float]]


def draw_connection(parent: Element, ctx: Ctx, element: Element, edge: Element | None) -> None:
    """Draw one message flow, association or data association; skipped when unroutable."""
    kind = local(element)
    source_id, target_id = _ends(element)
    points = route(ctx, source_id, target_id, edge)
    if len(points) < 2:
        return
    group = svg.add(
        parent, "g", {"id": f"{kind}-{element.get('id')}", "class": f"bpmn-{kind.lower()}"}
    )
    dash = MESSAGE_DASH if kind == "messageFlow" else DOTTED
    line = {**svg.ink(CONNECTION_COLOUR, 1.3), "stroke-dasharray": dash}
    svg.add(group, "polyline", {"points": svg.points(points), **line, "stroke-linejoin": "round"})
    if kind == "messageFlow":
        start = points[0]
        svg.add(
            group,
            "circle",
            {"cx": start[0], "cy": start[1], "r": 4, "fill": "#ffffff", **_solid()},
        )
    if kind == "messageFlow" or kind in DATA_ASSOCIATIONS or _directed(element, "target"):
        _open_arrow(group, points)
    if _directed(element, "source"):
        _open_arrow(group, list(reversed(points)))
    for x, y in points:
        ctx.extent.add(x, y)
    name = display_name(element)
    if name:
        svg.add(group, "title", {}, name)
        flow_label(group, ctx, name, edge, points)


def _solid() -> dict[str, object]:
    return {"stroke": CONNECTION_COLOUR, "stroke-width": 1.3}


def _open_arrow(group: Element, points: Points) -> None:
    head = arrowhead(points)
    svg.add(group, "polygon", {"points": svg.points(head), "fill": "#ffffff", **_solid()})


def _directed(element: Element, end: str) -> bool:
    direction = element.get("associationDirection") or "None"
    return local(element) == "association" and (
        direction == "Both" or (direction == "One" and end == "target")
    )


def _ends(element: Element) -> tuple[str | None, str | None]:
    """Source and target ids: attributes, or for data associations the child refs and parent."""
    kind = local(element)
    if kind not in DATA_ASSOCIATIONS:
        return element.get("sourceRef"), element.get("targetRef")
    owner = element.getparent()
    owner_id = owner.get("id") if owner is not None else None
    sources = [(ref.text or "").strip() for ref in element.findall(bpmn("sourceRef"))]
    target = element.find(bpmn("targetRef"))
    target_id = (target.text or "").strip() if target is not None else None
    if kind == "dataInputAssociation":
        return (sources[0] if sources else None), owner_id
    return owner_id, target_id
