"""`render_svg`: one process diagram from its BPMNDI as a standalone inline SVG.

Validates the marks, picks the drawable shapes of the process's plane, draws them in
layers (pools, lanes, open sub-processes, flows, nodes, boundary events), adds the state
legend and sizes the viewBox to what was drawn. How each node or flow looks does not
live here: that is `shapes`, `icons` and `edges`.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence

from lxml import etree

from engine.diagram import svg
from engine.diagram.connections import CONNECTIONS
from engine.diagram.connections import draw_connection
from engine.diagram.edges import draw_flow
from engine.diagram.model import BPMNDI_NS
from engine.diagram.model import EVENTS
from engine.diagram.model import Box
from engine.diagram.model import Ctx
from engine.diagram.model import Element
from engine.diagram.model import Shape
from engine.diagram.model import bounds
from engine.diagram.model import bpmn
from engine.diagram.model import family
from engine.diagram.model import find_plane
from engine.diagram.model import find_process
from engine.diagram.model import is_expanded
from engine.diagram.model import local
from engine.diagram.model import parse
from engine.diagram.model import plane_edges
from engine.diagram.palette import DEFAULT_PALETTE
from engine.diagram.palette import MARK_LABELS
from engine.diagram.palette import MARK_PALETTES
from engine.diagram.shapes import NODE_DRAWERS
from engine.diagram.shapes import draw_shape
from engine.diagram.svg import SVG_NS
from engine.diagram.text import text_width

FONT_FAMILY = "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif"
MARGIN = 20.0


def render_svg(
    bpmn_xml: bytes,
    process_id: str,
    marks: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Draw the BPMNDI diagram of `process_id` as a standalone inline SVG string.

    `marks` maps a BPMN element id (node or sequence flow) to one of the keys of
    `MARK_PALETTES`; marked nodes get that colour and the class `state-<mark>`.
    `labels` maps a node id to a short caption (for example a due date) drawn as a
    badge above the node and added to its tooltip. Raises ValueError when the XML is
    malformed, the process is unknown, it has no diagram, or a mark is unknown.
    """
    marks = dict(marks or {})
    _check_marks(marks)
    root = parse(bpmn_xml)
    process = find_process(root, process_id)
    participants = [p for p in root.iter(bpmn("participant")) if p.get("processRef") == process_id]
    plane = find_plane(root, process_id, participants)
    title = process.get("name") or process_id
    return _render_plane(root, plane, marks, dict(labels or {}), title)


def render_diagram_svg(
    bpmn_xml: bytes,
    index: int = 0,
    marks: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Draw the `index`-th BPMNDiagram of a file whole: every pool, process and artifact on it.

    Raises ValueError as `render_svg` does, and when there is no diagram at that index.
    """
    marks = dict(marks or {})
    _check_marks(marks)
    root = parse(bpmn_xml)
    diagrams = list(root.iter(f"{{{BPMNDI_NS}}}BPMNDiagram"))
    if not 0 <= index < len(diagrams):
        raise ValueError(f"The BPMN XML has no diagram number {index + 1}.")
    plane = diagrams[index].find(f"{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        raise ValueError(f"Diagram number {index + 1} has no BPMNPlane.")
    owner = next((el for el in root.iter() if el.get("id") == plane.get("bpmnElement")), None)
    title = diagrams[index].get("name") or (owner.get("name") if owner is not None else None)
    return _render_plane(root, plane, marks, dict(labels or {}), title or "BPMN")


def _render_plane(
    root: Element, plane: Element, marks: dict[str, str], labels: dict[str, str], title: str
) -> str:
    """Everything the plane shows: pools and lanes of every participant, nodes, artifacts."""
    elements = {el.get("id"): el for el in root.iter(bpmn("*")) if el.get("id")}
    shapes = list(_shapes(plane, elements))
    if not shapes:
        raise ValueError(f"The BPMN diagram {plane.get('bpmnElement')!r} has no shapes.")
    ctx = Ctx(
        elements=elements,
        boxes={shape.element.get("id"): shape.box for shape in shapes},
        marks=marks,
        labels=labels,
    )
    return _assemble(ctx, shapes, plane_edges(plane), title)


def _check_marks(marks: Mapping[str, str]) -> None:
    unknown = sorted({m for m in marks.values() if m not in MARK_PALETTES})
    if unknown:
        allowed = ", ".join(MARK_PALETTES)
        raise ValueError(f"Unknown diagram mark(s) {unknown}; allowed: {allowed}.")


def _shapes(plane: Element, elements: Mapping[str, Element]) -> Iterator[Shape]:
    for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        element = elements.get(shape.get("bpmnElement") or "")
        box = bounds(shape)
        if element is not None and box is not None and _drawable(element):
            yield Shape(element, shape, _drawn_box(element, box))


def _drawable(element: Element) -> bool:
    kind = local(element)
    return kind in {"participant", "lane"} or family(kind) in NODE_DRAWERS


def _drawn_box(element: Element, box: Box) -> Box:
    """Events are circles: keep the largest square centred in their bounds."""
    if local(element) not in EVENTS or box.w == box.h:
        return box
    side = min(box.w, box.h)
    return Box(box.cx - side / 2, box.cy - side / 2, side, side)


def _assemble(
    ctx: Ctx,
    shapes: Sequence[Shape],
    edges: Mapping[str, Element],
    title: str,
) -> str:
    root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    body = etree.Element(f"{{{SVG_NS}}}g")
    ordered = sorted(shapes, key=_layer)
    for shape in (s for s in ordered if _layer(s) < 3):
        draw_shape(body, ctx, shape)
    flows = svg.add(body, "g", {"class": "bpmn-flows"})
    for flow in ctx.elements.values():
        if local(flow) == "sequenceFlow":
            draw_flow(flows, ctx, flow, edges.get(flow.get("id")))
    for shape in (s for s in ordered if _layer(s) >= 3):
        draw_shape(body, ctx, shape)
    connections = svg.add(body, "g", {"class": "bpmn-connections"})
    for element_id, edge in edges.items():
        element = ctx.elements.get(element_id)
        if element is not None and local(element) in CONNECTIONS:
            draw_connection(connections, ctx, element, edge)
    legend_y = ctx.extent.y1 + 16
    _draw_legend(body, ctx, ctx.extent.x0, legend_y)
    ext = ctx.extent
    view = (
        ext.x0 - MARGIN,
        ext.y0 - MARGIN,
        ext.x1 - ext.x0 + 2 * MARGIN,
        ext.y1 - ext.y0 + 2 * MARGIN,
    )
    svg.set_all(
        root,
        {
            "viewBox": " ".join(svg.num(v) for v in view),
            # Natural size: a wide process scrolls in its frame instead of shrinking to
            # unreadable text; pages may still scale it down with CSS.
            "width": svg.num(view[2]),
            "height": svg.num(view[3]),
            "class": "bpmn-diagram",
            "role": "img",
            "aria-label": title,
            "font-family": FONT_FAMILY,
        },
    )
    svg.add(root, "title", {}, title)
    root.append(body)
    return str(etree.tostring(root, encoding="unicode"))


def _layer(shape: Shape) -> int:
    """Drawing order: pools, lanes, expanded sub-processes, (flows), nodes, boundary events.

    Message flows and associations are drawn last, over everything they connect.
    """
    kind = local(shape.element)
    if kind == "participant":
        return 0
    if kind == "lane":
        return 1
    if is_expanded(shape.element, shape.di):
        return 2
    return 4 if kind == "boundaryEvent" else 3


def _draw_legend(parent: Element, ctx: Ctx, x: float, y: float) -> None:
    group = svg.add(parent, "g", {"class": "bpmn-legend"})
    for mark, label in MARK_LABELS.items():
        palette = MARK_PALETTES[mark]
        swatch = Box(x, y, 22, 13)
        svg.add(
            group,
            "rect",
            {**svg.rect(swatch, palette.fill, palette.stroke, 1.4, 3.0), "class": f"state-{mark}"},
        )
        attrs = {"fill": DEFAULT_PALETTE.text, "text-anchor": "start"}
        svg.text_lines(group, [label], x + 27, y - 0.5, 11.0, attrs)
        x += 27 + text_width(label, 11.0) + 18
    ctx.extent.add(x, y, 0, 14)
