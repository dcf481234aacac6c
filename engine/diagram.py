"""Server-side SVG rendering of one process diagram from its BPMNDI.

`render_svg` reads the BPMNPlane of a process (or of the collaboration holding its
participant) and draws shapes and sequence flows as a standalone inline SVG: no scripts,
no external assets. The SVG tree is built with lxml, so every name taken from the
uploaded BPMN is escaped by the serializer and can never inject markup.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from collections.abc import Iterator
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
SVG_NS = "http://www.w3.org/2000/svg"

FONT_FAMILY = "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif"
MARGIN = 20.0
BAND_WIDTH = 30.0
TASK_FONT = 12.0
LABEL_FONT = 11.0
LINE_HEIGHT = 1.3

Element = Any  # lxml ships no type stubs; elements are lxml.etree._Element


@dataclass(frozen=True)
class Palette:
    """Colours of one node state: fill, outline and text/icon colour."""

    fill: str
    stroke: str
    text: str


DEFAULT_PALETTE = Palette("#ffffff", "#3d4a5c", "#1f2933")
MARK_PALETTES: Mapping[str, Palette] = {
    "completed": Palette("#e3efe6", "#5c8d6c", "#1e3a2a"),
    "active": Palette("#dbe9ff", "#1f6feb", "#0b3a82"),
    "overdue": Palette("#fde2df", "#d93025", "#8a1c14"),
    "flagged": Palette("#fff1c7", "#d48806", "#6b4400"),
    "error": Palette("#8e1b1b", "#5a0e0e", "#ffffff"),
}
MARK_LABELS: Mapping[str, str] = {
    "completed": "已完成",
    "active": "进行中",
    "overdue": "已超期",
    "flagged": "需关注",
    "error": "出错",
}
FLOW_COLOUR = "#4a5668"
COMPLETED_FLOW_COLOUR = "#5c8d6c"

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

_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# East Asian wide characters: each is a possible line break and one em wide.
_WIDE_RANGES = (
    "\u1100-\u115f\u2e80-\u303e\u3040-\ua4cf\uac00-\ud7a3"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
)
_WIDE = re.compile(f"[{_WIDE_RANGES}]")
_TOKEN = re.compile(f"[{_WIDE_RANGES}]|\\s+|[^\\s{_WIDE_RANGES}]+")
_NO_LINE_START = frozenset(
    "\uff0c\u3002\u3001\uff1b\uff1a\uff1f\uff01\u201d\u2019\uff09\u300b\u3011,.;:?!)"
)
ELLIPSIS = "\u2026"


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
class _Extent:
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
class _Shape:
    """A BPMN element with its BPMNShape and bounds."""

    element: Element
    di: Element
    box: Box


@dataclass
class _Ctx:
    """Everything the drawing functions share for one render."""

    elements: Mapping[str, Element]
    boxes: Mapping[str, Box]
    marks: Mapping[str, str]
    labels: Mapping[str, str]
    extent: _Extent = field(default_factory=_Extent)


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
    root = _parse(bpmn_xml)
    process = _find_process(root, process_id)
    participants = [p for p in root.iter(_bpmn("participant")) if p.get("processRef") == process_id]
    plane = _find_plane(root, process_id, participants)
    elements = {el.get("id"): el for el in process.iter(_bpmn("*")) if el.get("id")}
    elements.update({p.get("id"): p for p in participants if p.get("id")})
    shapes = list(_shapes(plane, elements))
    if not shapes:
        raise ValueError(f"The BPMN diagram has no shapes for process {process_id!r}.")
    ctx = _Ctx(
        elements=elements,
        boxes={shape.element.get("id"): shape.box for shape in shapes},
        marks=marks,
        labels=dict(labels or {}),
    )
    title = process.get("name") or process_id
    return _assemble(ctx, shapes, _edges(plane), title)


def _check_marks(marks: Mapping[str, str]) -> None:
    unknown = sorted({m for m in marks.values() if m not in MARK_PALETTES})
    if unknown:
        allowed = ", ".join(MARK_PALETTES)
        raise ValueError(f"Unknown diagram mark(s) {unknown}; allowed: {allowed}.")


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _local(el: Element) -> str:
    return str(etree.QName(el).localname)


def _parse(bpmn_xml: bytes) -> Element:
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


def _find_process(root: Element, process_id: str) -> Element:
    for process in root.iter(_bpmn("process")):
        if process.get("id") == process_id:
            return process
    raise ValueError(f"The BPMN XML has no process {process_id!r}.")


def _find_plane(root: Element, process_id: str, participants: Sequence[Element]) -> Element:
    owners = {process_id} | {p.getparent().get("id") for p in participants}
    for plane in root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"):
        if plane.get("bpmnElement") in owners:
            return plane
    raise ValueError(f"The BPMN XML has no diagram (BPMNDI) for process {process_id!r}.")


def _shapes(plane: Element, elements: Mapping[str, Element]) -> Iterator[_Shape]:
    for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        element = elements.get(shape.get("bpmnElement") or "")
        box = _bounds(shape)
        if element is not None and box is not None and _drawable(element):
            yield _Shape(element, shape, _drawn_box(element, box))


def _drawable(element: Element) -> bool:
    kind = _local(element)
    return kind in {"participant", "lane"} or _family(kind) in _NODE_DRAWERS


def _drawn_box(element: Element, box: Box) -> Box:
    """Events are circles: keep the largest square centred in their bounds."""
    if _local(element) not in EVENTS or box.w == box.h:
        return box
    side = min(box.w, box.h)
    return Box(box.cx - side / 2, box.cy - side / 2, side, side)


def _edges(plane: Element) -> dict[str, Element]:
    return {
        edge.get("bpmnElement"): edge
        for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge")
        if edge.get("bpmnElement")
    }


def _bounds(di_el: Element) -> Box | None:
    bounds = di_el.find(f"{{{DC_NS}}}Bounds")
    if bounds is None:
        return None
    try:
        values = [float(bounds.get(k, "")) for k in ("x", "y", "width", "height")]
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    return Box(*values)


def _label_bounds(di_el: Element) -> Box | None:
    label = di_el.find(f"{{{BPMNDI_NS}}}BPMNLabel")
    return None if label is None else _bounds(label)


def _waypoints(edge: Element) -> list[tuple[float, float]]:
    points = []
    for wp in edge.iter(f"{{{DI_NS}}}waypoint"):
        try:
            x, y = float(wp.get("x", "")), float(wp.get("y", ""))
        except ValueError:
            continue
        if math.isfinite(x) and math.isfinite(y):
            points.append((x, y))
    return points


# ---------------------------------------------------------------- SVG building


def _num(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _add(
    parent: Element, tag: str, attrs: Mapping[str, object], text: str | None = None
) -> Element:
    el = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for key, value in attrs.items():
        el.set(key, _num(value) if isinstance(value, float | int) else _xml_safe(str(value)))
    if text is not None:
        el.text = _xml_safe(text)
    return el


def _set_all(el: Element, attrs: Mapping[str, str]) -> None:
    for key, value in attrs.items():
        el.set(key, _xml_safe(value))


def _xml_safe(text: str) -> str:
    return _XML_UNSAFE.sub("", text)


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


def _path(*strokes: Sequence[tuple[float, float]]) -> str:
    """Path data for open polylines, one per stroke."""
    parts = []
    for stroke in strokes:
        parts.append("M" + "L".join(f"{_num(x)} {_num(y)}" for x, y in stroke))
    return "".join(parts)


def _assemble(
    ctx: _Ctx,
    shapes: Sequence[_Shape],
    edges: Mapping[str, Element],
    title: str,
) -> str:
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    body = etree.Element(f"{{{SVG_NS}}}g")
    ordered = sorted(shapes, key=_layer)
    for shape in (s for s in ordered if _layer(s) < 3):
        _draw_shape(body, ctx, shape)
    flows = _add(body, "g", {"class": "bpmn-flows"})
    for flow in ctx.elements.values():
        if _local(flow) == "sequenceFlow":
            _draw_flow(flows, ctx, flow, edges.get(flow.get("id")))
    for shape in (s for s in ordered if _layer(s) >= 3):
        _draw_shape(body, ctx, shape)
    legend_y = ctx.extent.y1 + 16
    _draw_legend(body, ctx, ctx.extent.x0, legend_y)
    ext = ctx.extent
    view = (
        ext.x0 - MARGIN,
        ext.y0 - MARGIN,
        ext.x1 - ext.x0 + 2 * MARGIN,
        ext.y1 - ext.y0 + 2 * MARGIN,
    )
    _set_all(
        svg,
        {
            "viewBox": " ".join(_num(v) for v in view),
            # Natural size: a wide process scrolls in its frame instead of shrinking to
            # unreadable text; pages may still scale it down with CSS.
            "width": _num(view[2]),
            "height": _num(view[3]),
            "class": "bpmn-diagram",
            "role": "img",
            "aria-label": title,
            "font-family": FONT_FAMILY,
        },
    )
    _add(svg, "title", {}, title)
    svg.append(body)
    return str(etree.tostring(svg, encoding="unicode"))


def _layer(shape: _Shape) -> int:
    """Drawing order: pools, lanes, expanded sub-processes, (flows), nodes, boundary events."""
    kind = _local(shape.element)
    if kind == "participant":
        return 0
    if kind == "lane":
        return 1
    if _is_expanded(shape.element, shape.di):
        return 2
    return 4 if kind == "boundaryEvent" else 3


def _is_expanded(element: Element, shape: Element) -> bool:
    return _local(element) in CONTAINERS and shape.get("isExpanded") == "true"


def _draw_shape(parent: Element, ctx: _Ctx, shape: _Shape) -> None:
    element, box = shape.element, shape.box
    kind = _local(element)
    if kind in {"participant", "lane"}:
        _draw_band(parent, ctx, element, box)
        return
    drawer = _NODE_DRAWERS.get(_family(kind))
    if drawer is None:
        return
    group = _node_group(parent, ctx, element)
    drawer(group, ctx, element, shape.di, box)
    ctx.extent.add(box.x, box.y, box.w, box.h)
    _draw_badge(group, ctx, element, box)


def _family(kind: str) -> str:
    if kind in ACTIVITIES:
        return "activity"
    if kind in EVENTS:
        return "event"
    if kind in GATEWAYS:
        return "gateway"
    return kind


def _palette(ctx: _Ctx, element_id: str) -> Palette:
    mark = ctx.marks.get(element_id)
    return DEFAULT_PALETTE if mark is None else MARK_PALETTES[mark]


def _display_name(element: Element) -> str:
    return (element.get("name") or "").strip()


def _node_group(parent: Element, ctx: _Ctx, element: Element) -> Element:
    element_id = element.get("id")
    classes = ["bpmn-node", f"bpmn-{_local(element).lower()}"]
    mark = ctx.marks.get(element_id)
    if mark:
        classes.append(f"state-{mark}")
    group = _add(parent, "g", {"id": f"node-{element_id}", "class": " ".join(classes)})
    tooltip = _display_name(element) or element_id
    caption = ctx.labels.get(element_id)
    if mark:
        tooltip = f"{tooltip}\n{MARK_LABELS[mark]}"
    if caption:
        tooltip = f"{tooltip}\n{caption}"
    _add(group, "title", {}, tooltip)
    return group


# ---------------------------------------------------------------- text


def _char_width(ch: str, size: float) -> float:
    if _WIDE.match(ch):
        return size
    if ch.isspace():
        return size * 0.3
    return size * (0.62 if ch.isupper() or ch.isdigit() else 0.55)


def _text_width(text: str, size: float) -> float:
    return sum(_char_width(ch, size) for ch in text)


def wrap_text(text: str, width: float, size: float, max_lines: int) -> list[str]:
    """Wrap `text` into at most `max_lines` lines of `width` (CJK breaks per character)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(_wrap_paragraph(paragraph.strip(), width, size))
    lines = [line for line in lines if line]
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = _ellipsize(kept[-1], width, size)
    return kept


def _wrap_paragraph(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in _TOKEN.findall(text):
        candidate = current + (" " if token.isspace() else token)
        if _text_width(candidate.rstrip(), size) <= width or token[0] in _NO_LINE_START:
            current = candidate
            continue
        lines.append(current.rstrip())
        current = "" if token.isspace() else token
        while _text_width(current, size) > width and len(current) > 1:
            cut = _fit_prefix(current, width, size)
            lines.append(current[:cut])
            current = current[cut:]
    lines.append(current.rstrip())
    return lines


def _fit_prefix(text: str, width: float, size: float) -> int:
    used = 0.0
    for index, ch in enumerate(text):
        used += _char_width(ch, size)
        if used > width:
            return max(index, 1)
    return len(text)


def _ellipsize(line: str, width: float, size: float) -> str:
    while line and _text_width(line + ELLIPSIS, size) > width:
        line = line[:-1]
    return line + ELLIPSIS


def _text_lines(
    parent: Element,
    lines: Sequence[str],
    x: float,
    top: float,
    size: float,
    attrs: Mapping[str, object],
) -> Element:
    """Draw centred lines whose first line box starts at `top`."""
    text = _add(parent, "text", {"x": x, "font-size": size, "text-anchor": "middle", **attrs})
    for index, line in enumerate(lines):
        baseline = top + size * (LINE_HEIGHT * index + 0.95)
        _add(text, "tspan", {"x": x, "y": baseline}, line)
    return text


def _block_height(count: int, size: float) -> float:
    return size * (LINE_HEIGHT * (count - 1) + 1.2) if count else 0.0


def _outside_label(
    parent: Element, ctx: _Ctx, element: Element, shape: Element, box: Box, colour: str
) -> None:
    """Label of an event or gateway: in its BPMNLabel bounds, else centred below the shape."""
    name = _display_name(element)
    if not name:
        return
    label_box = _label_bounds(shape)
    width = max(label_box.w, 60.0) if label_box else 96.0
    lines = wrap_text(name, width, LABEL_FONT, 3)
    cx = label_box.cx if label_box else box.cx
    top = label_box.y if label_box else box.y + box.h + 4
    height = _block_height(len(lines), LABEL_FONT)
    _text_lines(parent, lines, cx, top, LABEL_FONT, {"fill": colour, **_HALO})
    ctx.extent.add(cx - width / 2, top, width, height)


_HALO = {
    "stroke": "#ffffff",
    "stroke-width": 3,
    "paint-order": "stroke",
    "stroke-linejoin": "round",
}


# ---------------------------------------------------------------- pools and lanes


def _draw_band(parent: Element, ctx: _Ctx, element: Element, box: Box) -> None:
    kind = _local(element)
    element_id = element.get("id")
    group = _add(parent, "g", {"id": f"{kind}-{element_id}", "class": f"bpmn-band bpmn-{kind}"})
    name = _display_name(element)
    _add(group, "title", {}, name or element_id)
    fill = "#fbfcfd" if kind == "participant" else "none"
    _add(group, "rect", _rect(box, fill, "#8a96a8", 1.5 if kind == "participant" else 1.0))
    band = Box(box.x, box.y, min(BAND_WIDTH, box.w), box.h)
    _add(
        group,
        "rect",
        _rect(band, "#eef2f7" if kind == "participant" else "#f4f6f9", "#8a96a8", 1.0),
    )
    if name:
        _vertical_label(group, name, band)
    ctx.extent.add(box.x, box.y, box.w, box.h)


def _ink(colour: str, width: float) -> dict[str, object]:
    """Attributes of an unfilled stroke."""
    return {"fill": "none", "stroke": colour, "stroke-width": width}


def _rect(box: Box, fill: str, stroke: str, width: float, radius: float = 0.0) -> dict[str, object]:
    attrs: dict[str, object] = {
        "x": box.x,
        "y": box.y,
        "width": box.w,
        "height": box.h,
        "fill": fill,
        "stroke": stroke,
        "stroke-width": width,
    }
    if radius:
        attrs["rx"] = radius
    return attrs


def _vertical_label(parent: Element, name: str, band: Box) -> None:
    """CJK names stack upright character by character; other names are rotated."""
    colour = DEFAULT_PALETTE.text
    if _WIDE.search(name):
        chars = [ch for ch in name if not ch.isspace()]
        size = max(min(13.0, (band.h - 12) / (len(chars) * LINE_HEIGHT), band.w - 12), 8.0)
        fit = max(int((band.h - 12) // (size * LINE_HEIGHT)), 1)
        if len(chars) > fit:
            chars = [*chars[: fit - 1], "\u22ee"]
        top = band.cy - _block_height(len(chars), size) / 2
        _text_lines(parent, chars, band.cx, top, size, {"fill": colour, "font-weight": 600})
        return
    lines = wrap_text(name, band.h - 12, 12.0, 1)
    text = _text_lines(
        parent, lines, band.cx, band.cy - 7, 12.0, {"fill": colour, "font-weight": 600}
    )
    text.set("transform", f"rotate(-90 {_num(band.cx)} {_num(band.cy)})")


# ---------------------------------------------------------------- activities


def _draw_activity(group: Element, ctx: _Ctx, element: Element, shape: Element, box: Box) -> None:
    kind = _local(element)
    palette = _palette(ctx, element.get("id"))
    expanded = _is_expanded(element, shape)
    if expanded:
        group.set("class", group.get("class") + " bpmn-container")
    width = 3.5 if kind == "callActivity" else 1.6
    if ctx.marks.get(element.get("id")) == "active":
        width = max(width, 2.5)
    _add(group, "rect", _rect(box, palette.fill, palette.stroke, width, 8.0))
    if kind == "transaction":
        inner = Box(box.x + 3, box.y + 3, box.w - 6, box.h - 6)
        _add(group, "rect", _rect(inner, "none", palette.stroke, 1.2, 6.0))
    icon = _TASK_ICONS.get(kind)
    if icon is not None:
        icon(group, box.x + 7, box.y + 7, palette)
    name = _display_name(element)
    collapsed = kind in CONTAINERS and not expanded
    markers = _activity_markers(group, element, box, palette, collapsed=collapsed)
    if expanded:
        lines = wrap_text(name, box.w - 16, TASK_FONT, 2)
        attrs = {"fill": palette.text, "text-anchor": "start"}
        _text_lines(group, lines, box.x + 8, box.y + 6, TASK_FONT, attrs)
        return
    top, bottom = (24.0 if icon else 8.0), (17.0 if markers else 8.0)
    area = Box(box.x + 7, box.y + top, box.w - 14, box.h - top - bottom)
    _activity_name(group, name, area, box.cy, palette)


def _activity_name(group: Element, name: str, area: Box, centre: float, palette: Palette) -> None:
    """Centre the wrapped name on the shape, kept inside `area` (clear of icon and markers)."""
    if not name:
        return
    line = TASK_FONT * LINE_HEIGHT
    max_lines = max(int((area.h + TASK_FONT * (LINE_HEIGHT - 1.2)) // line), 1)
    lines = wrap_text(name, area.w, TASK_FONT, max_lines)
    height = _block_height(len(lines), TASK_FONT)
    top = max(area.y, min(centre - height / 2, area.y + area.h - height))
    _text_lines(group, lines, area.cx, top, TASK_FONT, {"fill": palette.text})


def _activity_markers(
    group: Element, element: Element, box: Box, palette: Palette, collapsed: bool
) -> int:
    """Bottom-centre markers: collapsed sub-process (+), multi-instance (||| or ≡), loop."""
    markers = ["collapsed"] if collapsed else []
    loop = next((c for c in element if _local(c).endswith("LoopCharacteristics")), None)
    if loop is not None and _local(loop) == "multiInstanceLoopCharacteristics":
        markers.append("sequential" if loop.get("isSequential") == "true" else "parallel")
    elif loop is not None:
        markers.append("loop")
    start = box.cx - (len(markers) * 14 - 2) / 2
    for index, name in enumerate(markers):
        holder = _add(group, "g", {"class": f"bpmn-marker-{name}"})
        _MARKERS[name](holder, start + index * 14, box.y + box.h - 16, palette.text)
    return len(markers)


def _marker_parallel(group: Element, x: float, y: float, colour: str) -> None:
    bars = [[(x + dx, y), (x + dx, y + 12)] for dx in (2.0, 6.0, 10.0)]
    for bar in bars:
        _add(group, "path", {"d": _path(bar), **_ink(colour, 2.0)})


def _marker_sequential(group: Element, x: float, y: float, colour: str) -> None:
    bars = [[(x, y + dy), (x + 12, y + dy)] for dy in (2.0, 6.0, 10.0)]
    for bar in bars:
        _add(group, "path", {"d": _path(bar), **_ink(colour, 2.0)})


def _marker_collapsed(group: Element, x: float, y: float, colour: str) -> None:
    _add(group, "rect", _rect(Box(x, y, 12, 12), "none", colour, 1.2))
    plus = _path([(x + 6, y + 3), (x + 6, y + 9)], [(x + 3, y + 6), (x + 9, y + 6)])
    _add(group, "path", {"d": plus, **_ink(colour, 1.5)})


def _marker_loop(group: Element, x: float, y: float, colour: str) -> None:
    arc = f"M{_num(x + 3)} {_num(y + 10)}A5 5 0 1 1 {_num(x + 9)} {_num(y + 10)}"
    _add(group, "path", {"d": arc, **_ink(colour, 1.5)})
    _add(
        group,
        "path",
        {"d": _path([(x + 9, y + 6), (x + 9, y + 10), (x + 13, y + 10)]), **_ink(colour, 1.5)},
    )


_MARKERS: Mapping[str, Callable[[Element, float, float, str], None]] = {
    "collapsed": _marker_collapsed,
    "parallel": _marker_parallel,
    "sequential": _marker_sequential,
    "loop": _marker_loop,
}


def _icon_user(group: Element, x: float, y: float, palette: Palette) -> None:
    ink = _ink(palette.text, 1.3)
    _add(group, "circle", {"cx": x + 7, "cy": y + 4.5, "r": 3.5, **ink})
    _add(group, "path", {"d": f"M{_num(x + 1)} {_num(y + 15)}c0-5 3-7 6-7s6 2 6 7z", **ink})


def _icon_service(group: Element, x: float, y: float, palette: Palette) -> None:
    colour = palette.text
    gear = {"cx": x + 7, "cy": y + 7, "r": 5.2, "fill": "none", "stroke": colour}
    _add(group, "circle", {**gear, "stroke-width": 3, "stroke-dasharray": "2.1 2"})
    _add(group, "circle", {**gear, "r": 4, "stroke-width": 1.3, "fill": palette.fill})
    _add(group, "circle", {**gear, "r": 1.6, "stroke-width": 1.2})


def _icon_script(group: Element, x: float, y: float, palette: Palette) -> None:
    sheet = f"M{_num(x + 3)} {_num(y)}h10c-3 3-1 8-3 14h-10c2-6 0-11 3-14z"
    _add(group, "path", {"d": sheet, **_ink(palette.text, 1.2)})
    lines = [[(x + 4, y + dy), (x + 10, y + dy)] for dy in (4.0, 7.0, 10.0)]
    _add(group, "path", {"d": _path(*lines), **_ink(palette.text, 1.0)})


def _icon_send(group: Element, x: float, y: float, palette: Palette) -> None:
    _envelope(group, x + 7, y + 6, 11.0, palette.text, palette.fill, filled=True)


def _icon_receive(group: Element, x: float, y: float, palette: Palette) -> None:
    _envelope(group, x + 7, y + 6, 11.0, palette.text, palette.fill, filled=False)


def _icon_rule(group: Element, x: float, y: float, palette: Palette) -> None:
    _add(group, "rect", _rect(Box(x, y + 1, 15, 11), "none", palette.text, 1.2))
    grid = _path(
        [(x, y + 4.5), (x + 15, y + 4.5)],
        [(x, y + 8), (x + 15, y + 8)],
        [(x + 5, y + 4.5), (x + 5, y + 12)],
    )
    _add(group, "path", {"d": grid, **_ink(palette.text, 1.0)})


def _icon_manual(group: Element, x: float, y: float, palette: Palette) -> None:
    _type_letter(group, x, y, "M", palette)


def _type_letter(group: Element, x: float, y: float, letter: str, palette: Palette) -> None:
    attrs = {"fill": palette.text, "font-weight": 700, "font-family": "sans-serif"}
    _text_lines(group, [letter], x + 6, y, 11.0, attrs)


_TASK_ICONS: Mapping[str, Callable[[Element, float, float, Palette], None]] = {
    "userTask": _icon_user,
    "serviceTask": _icon_service,
    "scriptTask": _icon_script,
    "sendTask": _icon_send,
    "receiveTask": _icon_receive,
    "businessRuleTask": _icon_rule,
    "manualTask": _icon_manual,
}


# ---------------------------------------------------------------- events


def _event_definition(element: Element) -> str | None:
    for child in element:
        name = _local(child)
        if name.endswith("EventDefinition"):
            return name.removesuffix("EventDefinition")
    return None


def _draw_event(group: Element, ctx: _Ctx, element: Element, shape: Element, box: Box) -> None:
    kind = _local(element)
    palette = _palette(ctx, element.get("id"))
    r = min(box.w, box.h) / 2
    circle = {"cx": box.cx, "cy": box.cy, "fill": palette.fill, "stroke": palette.stroke}
    dashed = {"stroke-dasharray": "4 2.5"} if _non_interrupting(element) else {}
    if kind == "endEvent":
        _add(group, "circle", {**circle, "r": r - 2, "stroke-width": 4})
    elif kind == "startEvent":
        _add(group, "circle", {**circle, "r": r, "stroke-width": 1.8, **dashed})
    else:
        _add(group, "circle", {**circle, "r": r, "stroke-width": 1.4, **dashed})
        _add(group, "circle", {**circle, "r": r - 3, "stroke-width": 1.4, **dashed, "fill": "none"})
    definition = _event_definition(element)
    icon = _EVENT_ICONS.get(definition or "")
    if icon is not None:
        throwing = kind in {"endEvent", "intermediateThrowEvent"}
        icon(group, box.cx, box.cy, r, palette, throwing)
    _outside_label(group, ctx, element, shape, box, DEFAULT_PALETTE.text)


def _non_interrupting(element: Element) -> bool:
    kind = _local(element)
    if kind == "boundaryEvent":
        return bool(element.get("cancelActivity") == "false")
    return kind == "startEvent" and bool(element.get("isInterrupting") == "false")


def _envelope(
    group: Element, cx: float, cy: float, r: float, colour: str, fill: str, filled: bool
) -> None:
    w, h = r * 1.3, r * 0.9
    x, y = cx - w / 2, cy - h / 2
    _add(group, "rect", _rect(Box(x, y, w, h), colour if filled else fill, colour, 1.2))
    flap = _path([(x, y), (cx, cy + h * 0.1), (x + w, y)])
    _add(group, "path", {"d": flap, **_ink(fill if filled else colour, 1.2)})


def _icon_message(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    _envelope(group, cx, cy, r * 0.62, palette.text, palette.fill, throwing)


def _icon_timer(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    face = r * 0.58
    _add(group, "circle", {"cx": cx, "cy": cy, "r": face, **_ink(palette.text, 1.5)})
    ticks = []
    for hour in range(12):
        dx, dy = math.sin(math.pi * hour / 6) * face, -math.cos(math.pi * hour / 6) * face
        ticks.append([(cx + dx * 0.78, cy + dy * 0.78), (cx + dx, cy + dy)])
    _add(group, "path", {"d": _path(*ticks), **_ink(palette.text, 0.9)})
    hands = _path([(cx, cy - face * 0.6), (cx, cy), (cx + face * 0.45, cy + face * 0.15)])
    _add(group, "path", {"d": hands, **_ink(palette.text, 1.4), "stroke-linecap": "round"})


def _icon_polygon(
    points: Sequence[tuple[float, float]],
) -> Callable[[Element, float, float, float, Palette, bool], None]:
    """An icon drawn as a polygon in unit coordinates (-1..1), filled when throwing."""

    def draw(
        group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
    ) -> None:
        scale = r * 0.5
        absolute = [(cx + px * scale, cy + py * scale) for px, py in points]
        ink = {**_ink(palette.text, 1.4), "stroke-linejoin": "round"}
        if throwing:
            ink["fill"] = palette.text
        _add(group, "polygon", {"points": _points(absolute), **ink})

    return draw


def _icon_terminate(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    _add(group, "circle", {"cx": cx, "cy": cy, "r": r * 0.5, "fill": palette.text})


def _icon_conditional(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    sheet = Box(cx - r * 0.4, cy - r * 0.5, r * 0.8, r)
    _add(group, "rect", _rect(sheet, "none", palette.text, 1.2))
    rows = [
        [(sheet.x + 2, sheet.y + sheet.h * f), (sheet.x + sheet.w - 2, sheet.y + sheet.h * f)]
        for f in (0.25, 0.5, 0.75)
    ]
    _add(group, "path", {"d": _path(*rows), **_ink(palette.text, 1.0)})


_EVENT_ICONS: Mapping[str, Callable[[Element, float, float, float, Palette, bool], None]] = {
    "message": _icon_message,
    "timer": _icon_timer,
    "terminate": _icon_terminate,
    "conditional": _icon_conditional,
    "signal": _icon_polygon([(0.0, -1.0), (0.95, 0.7), (-0.95, 0.7)]),
    "error": _icon_polygon(
        [(-0.9, 0.9), (-0.35, -0.8), (0.2, 0.2), (0.9, -0.9), (0.35, 0.8), (-0.2, -0.2)]
    ),
    "escalation": _icon_polygon([(0.0, -1.0), (0.7, 0.9), (0.0, 0.2), (-0.7, 0.9)]),
    "link": _icon_polygon(
        [
            (-0.8, -0.35),
            (0.2, -0.35),
            (0.2, -0.8),
            (0.9, 0.0),
            (0.2, 0.8),
            (0.2, 0.35),
            (-0.8, 0.35),
        ]
    ),
    "compensate": _icon_polygon(
        [
            (-0.9, 0.0),
            (-0.05, -0.6),
            (-0.05, 0.0),
            (0.8, -0.6),
            (0.8, 0.6),
            (-0.05, 0.0),
            (-0.05, 0.6),
        ]
    ),
}


# ---------------------------------------------------------------- gateways


def _draw_gateway(group: Element, ctx: _Ctx, element: Element, shape: Element, box: Box) -> None:
    palette = _palette(ctx, element.get("id"))
    diamond = [(box.cx, box.y), (box.x + box.w, box.cy), (box.cx, box.y + box.h), (box.x, box.cy)]
    width = 2.5 if ctx.marks.get(element.get("id")) == "active" else 1.6
    _add(
        group,
        "polygon",
        {
            "points": _points(diamond),
            "fill": palette.fill,
            "stroke": palette.stroke,
            "stroke-width": width,
            "stroke-linejoin": "round",
        },
    )
    r = min(box.w, box.h) / 2
    kind = _local(element)
    line = {
        "stroke": palette.text,
        "stroke-width": max(r * 0.14, 2.5),
        "stroke-linecap": "round",
        "fill": "none",
    }
    cx, cy = box.cx, box.cy
    arm = r * 0.36
    long = arm * 1.15
    plus = _path([(cx, cy - long), (cx, cy + long)], [(cx - long, cy), (cx + long, cy)])
    cross = _path(
        [(cx - arm, cy - arm), (cx + arm, cy + arm)], [(cx + arm, cy - arm), (cx - arm, cy + arm)]
    )
    if kind == "exclusiveGateway":
        _add(group, "path", {"d": cross, **line})
    elif kind == "parallelGateway":
        _add(group, "path", {"d": plus, **line})
    elif kind == "complexGateway":
        _add(group, "path", {"d": plus + cross, **line, "stroke-width": 2})
    elif kind == "inclusiveGateway":
        _add(group, "circle", {"cx": cx, "cy": cy, "r": r * 0.42, **line})
    else:
        _event_gateway_marker(group, cx, cy, r, palette)
    _outside_label(group, ctx, element, shape, box, DEFAULT_PALETTE.text)


def _event_gateway_marker(group: Element, cx: float, cy: float, r: float, palette: Palette) -> None:
    ring = {"cx": cx, "cy": cy, "fill": "none", "stroke": palette.text, "stroke-width": 1.1}
    _add(group, "circle", {**ring, "r": r * 0.5})
    _add(group, "circle", {**ring, "r": r * 0.42})
    pentagon = [
        (
            cx + math.sin(2 * math.pi * i / 5) * r * 0.25,
            cy - math.cos(2 * math.pi * i / 5) * r * 0.25,
        )
        for i in range(5)
    ]
    _add(
        group,
        "polygon",
        {"points": _points(pentagon), "fill": "none", "stroke": palette.text, "stroke-width": 1.3},
    )


# ---------------------------------------------------------------- annotations


def _draw_annotation(group: Element, ctx: _Ctx, element: Element, shape: Element, box: Box) -> None:
    d = f"M{_num(box.x + 10)} {_num(box.y)}H{_num(box.x)}V{_num(box.y + box.h)}H{_num(box.x + 10)}"
    _add(group, "path", {"d": d, "fill": "none", "stroke": "#8a96a8", "stroke-width": 1.3})
    text_el = element.find(_bpmn("text"))
    text = (text_el.text or "").strip() if text_el is not None else ""
    if not text:
        return
    max_lines = max(int(box.h // (LABEL_FONT * LINE_HEIGHT)), 1)
    lines = wrap_text(text, box.w - 10, LABEL_FONT, max_lines)
    attrs = {"fill": "#4a5668", "text-anchor": "start"}
    _text_lines(group, lines, box.x + 6, box.y + 4, LABEL_FONT, attrs)


_NODE_DRAWERS: Mapping[str, Callable[[Element, _Ctx, Element, Element, Box], None]] = {
    "activity": _draw_activity,
    "event": _draw_event,
    "gateway": _draw_gateway,
    "textAnnotation": _draw_annotation,
}


# ---------------------------------------------------------------- badges, flows, legend


def _draw_badge(group: Element, ctx: _Ctx, element: Element, box: Box) -> None:
    caption = ctx.labels.get(element.get("id"))
    if not caption:
        return
    palette = _palette(ctx, element.get("id"))
    colour = palette.stroke if palette is not DEFAULT_PALETTE else "#4a5668"
    lines = wrap_text(caption, 140.0, 10.0, 1)
    width = _text_width(lines[0], 10.0) + 10 if lines else 0.0
    if not width:
        return
    # Top right, clear of a flow entering the node's top centre.
    badge = Box(max(box.cx + 6, box.x + box.w + 8 - width), box.y - 9, width, 15)
    _add(group, "rect", {**_rect(badge, colour, "#ffffff", 1.0), "rx": 7.5, "class": "bpmn-badge"})
    _text_lines(group, lines, badge.cx, badge.y + 2, 10.0, {"fill": "#ffffff"})
    ctx.extent.add(badge.x, badge.y, badge.w, badge.h)


def _flow_route(ctx: _Ctx, flow: Element, edge: Element | None) -> list[tuple[float, float]]:
    """The DI waypoints; a drawn connector when they miss the shapes they should join."""
    points = _waypoints(edge) if edge is not None else []
    source = ctx.boxes.get(flow.get("sourceRef") or "")
    target = ctx.boxes.get(flow.get("targetRef") or "")
    if len(points) >= 2 and _touches(source, points[0]) and _touches(target, points[-1]):
        return points
    if source is not None and target is not None:
        return _connector(source, target)
    return []


def _touches(box: Box | None, point: tuple[float, float], slack: float = 25.0) -> bool:
    if box is None:
        return True
    x, y = point
    inside_x = box.x - slack <= x <= box.x + box.w + slack
    return inside_x and box.y - slack <= y <= box.y + box.h + slack


def _connector(a: Box, b: Box) -> list[tuple[float, float]]:
    """An orthogonal connector from the side of `a` facing `b` to the facing side of `b`."""
    if b.x >= a.x + a.w or a.x >= b.x + b.w:
        rightwards = b.x >= a.x + a.w
        start = (a.x + a.w if rightwards else a.x, a.cy)
        end = (b.x if rightwards else b.x + b.w, b.cy)
        if start[1] == end[1]:
            return [start, end]
        mid = (start[0] + end[0]) / 2
        return [start, (mid, start[1]), (mid, end[1]), end]
    downwards = b.y >= a.cy
    start = (a.cx, a.y + a.h if downwards else a.y)
    end = (b.cx, b.y if downwards else b.y + b.h)
    if start[0] == end[0]:
        return [start, end]
    mid = (start[1] + end[1]) / 2
    return [start, (start[0], mid), (end[0], mid), end]


def _draw_flow(parent: Element, ctx: _Ctx, flow: Element, edge: Element | None) -> None:
    flow_id = flow.get("id")
    points = _flow_route(ctx, flow, edge)
    if not points:
        return
    completed = ctx.marks.get(flow_id) == "completed"
    colour = COMPLETED_FLOW_COLOUR if completed else FLOW_COLOUR
    classes = "bpmn-flow state-completed" if completed else "bpmn-flow"
    group = _add(parent, "g", {"id": f"flow-{flow_id}", "class": classes})
    name = _display_name(flow)
    if name:
        _add(group, "title", {}, name)
    line = {"fill": "none", "stroke": colour, "stroke-width": 2.2 if completed else 1.4}
    _add(group, "polyline", {"points": _points(points), **line, "stroke-linejoin": "round"})
    _add(
        group,
        "polygon",
        {
            "points": _points(_arrowhead(points)),
            "fill": colour,
            "stroke": colour,
            "stroke-width": 1,
        },
    )
    source = ctx.elements.get(flow.get("sourceRef") or "")
    if source is not None and source.get("default") == flow_id:
        _add(group, "path", {"d": _default_slash(points), "stroke": colour, "stroke-width": 1.6})
    for x, y in points:
        ctx.extent.add(x, y)
    if name:
        _flow_label(group, ctx, name, edge, points)


def _direction(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    return (1.0, 0.0) if length == 0 else (dx / length, dy / length)


def _arrowhead(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    tip = points[-1]
    previous = next((p for p in reversed(points[:-1]) if p != tip), points[0])
    ux, uy = _direction(previous, tip)
    bx, by = tip[0] - ux * 10, tip[1] - uy * 10
    return [tip, (bx - uy * 4, by + ux * 4), (bx + uy * 4, by - ux * 4)]


def _default_slash(points: Sequence[tuple[float, float]]) -> str:
    start = points[0]
    following = next((p for p in points[1:] if p != start), points[-1])
    ux, uy = _direction(start, following)
    mx, my = start[0] + ux * 12, start[1] + uy * 12
    # A short stroke across the line, tilted 45 degrees from it.
    vx, vy = (ux - uy) * 5, (uy + ux) * 5
    return f"M{_num(mx - vx)} {_num(my - vy)}L{_num(mx + vx)} {_num(my + vy)}"


def _midpoint(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    segments = list(itertools.pairwise(points))
    total = sum(math.dist(a, b) for a, b in segments)
    remaining = total / 2
    for a, b in segments:
        length = math.dist(a, b)
        if length >= remaining and length > 0:
            t = remaining / length
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        remaining -= length
    return points[0]


def _flow_label(
    group: Element,
    ctx: _Ctx,
    name: str,
    edge: Element | None,
    points: Sequence[tuple[float, float]],
) -> None:
    label_box = _label_bounds(edge) if edge is not None else None
    width = max(label_box.w, 60.0) if label_box else 90.0
    lines = wrap_text(name, width, LABEL_FONT, 2)
    if label_box:
        cx, top = label_box.cx, label_box.y
    else:
        mx, my = _midpoint(points)
        cx, top = mx, my - _block_height(len(lines), LABEL_FONT) - 3
    attrs = {"fill": "#2f3b4c", "class": "bpmn-flow-label", **_HALO}
    _text_lines(group, lines, cx, top, LABEL_FONT, attrs)
    ctx.extent.add(cx - width / 2, top, width, _block_height(len(lines), LABEL_FONT))


def _draw_legend(parent: Element, ctx: _Ctx, x: float, y: float) -> None:
    group = _add(parent, "g", {"class": "bpmn-legend"})
    for mark, label in MARK_LABELS.items():
        palette = MARK_PALETTES[mark]
        swatch = Box(x, y, 22, 13)
        _add(
            group,
            "rect",
            {**_rect(swatch, palette.fill, palette.stroke, 1.4, 3.0), "class": f"state-{mark}"},
        )
        attrs = {"fill": DEFAULT_PALETTE.text, "text-anchor": "start"}
        _text_lines(group, [label], x + 27, y - 0.5, 11.0, attrs)
        x += 27 + _text_width(label, 11.0) + 18
    ctx.extent.add(x, y, 0, 14)
