"""Drawing one BPMN node: pools and lanes, activities, events, gateways, annotations.

`draw_shape` picks the drawer for the element's family from `NODE_DRAWERS`, wraps the
node in a `<g>` carrying its id, state class and tooltip, and adds the due-date badge.
Glyphs inside nodes live in `icons`; sequence flows live in `edges`; drawing order and
the `<svg>` root live in `render`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping

from engine.diagram import svg
from engine.diagram.artifacts import draw_annotation
from engine.diagram.artifacts import draw_data_object
from engine.diagram.artifacts import draw_data_store
from engine.diagram.artifacts import draw_group
from engine.diagram.icons import EVENT_ICONS
from engine.diagram.icons import MARKERS
from engine.diagram.icons import TASK_ICONS
from engine.diagram.icons import event_gateway_marker
from engine.diagram.model import CONTAINERS
from engine.diagram.model import Box
from engine.diagram.model import Ctx
from engine.diagram.model import Element
from engine.diagram.model import Shape
from engine.diagram.model import display_name
from engine.diagram.model import family
from engine.diagram.model import is_expanded
from engine.diagram.model import label_bounds
from engine.diagram.model import local
from engine.diagram.palette import DEFAULT_PALETTE
from engine.diagram.palette import MARK_LABELS
from engine.diagram.palette import MARK_PALETTES
from engine.diagram.palette import Palette
from engine.diagram.svg import HALO
from engine.diagram.svg import LABEL_FONT
from engine.diagram.svg import LINE_HEIGHT
from engine.diagram.svg import MIN_LABEL_WIDTH
from engine.diagram.svg import OUTSIDE_LABEL_LINES
from engine.diagram.svg import TASK_FONT
from engine.diagram.text import WIDE
from engine.diagram.text import latin_words
from engine.diagram.text import text_width
from engine.diagram.text import wrap_text

BAND_WIDTH = 30.0
MIN_TASK_FONT = 9.0


def draw_shape(parent: Element, ctx: Ctx, shape: Shape) -> None:
    """Draw a pool, lane or node under `parent` and grow the drawn extent to hold it."""
    element, box = shape.element, shape.box
    kind = local(element)
    if kind in {"participant", "lane"}:
        _draw_band(parent, ctx, element, shape.di, box)
        return
    drawer = NODE_DRAWERS.get(family(kind))
    if drawer is None:
        return
    group = _node_group(parent, ctx, element)
    drawer(group, ctx, element, shape.di, box)
    ctx.extent.add(box.x, box.y, box.w, box.h)
    _draw_badge(group, ctx, element, box)


def _palette(ctx: Ctx, element_id: str) -> Palette:
    mark = ctx.marks.get(element_id)
    return DEFAULT_PALETTE if mark is None else MARK_PALETTES[mark]


def _node_group(parent: Element, ctx: Ctx, element: Element) -> Element:
    element_id = element.get("id")
    classes = ["bpmn-node", f"bpmn-{local(element).lower()}"]
    mark = ctx.marks.get(element_id)
    if mark:
        classes.append(f"state-{mark}")
    group = svg.add(parent, "g", {"id": f"node-{element_id}", "class": " ".join(classes)})
    tooltip = display_name(element) or element_id
    caption = ctx.labels.get(element_id)
    if mark:
        tooltip = f"{tooltip}\n{MARK_LABELS[mark]}"
    if caption:
        tooltip = f"{tooltip}\n{caption}"
    svg.add(group, "title", {}, tooltip)
    return group


def _outside_label(
    parent: Element, ctx: Ctx, element: Element, shape: Element, box: Box, colour: str
) -> None:
    """Label of an event or gateway: in its BPMNLabel bounds, else centred below the shape."""
    name = display_name(element)
    if not name:
        return
    label_box = label_bounds(shape)
    width = max(label_box.w, MIN_LABEL_WIDTH) if label_box else 96.0
    lines = wrap_text(name, width, LABEL_FONT, OUTSIDE_LABEL_LINES)
    cx = label_box.cx if label_box else box.cx
    top = label_box.y if label_box else box.y + box.h + 4
    height = svg.block_height(len(lines), LABEL_FONT)
    svg.text_lines(parent, lines, cx, top, LABEL_FONT, {"fill": colour, **HALO})
    ctx.extent.add(cx - width / 2, top, width, height)


def _draw_badge(group: Element, ctx: Ctx, element: Element, box: Box) -> None:
    caption = ctx.labels.get(element.get("id"))
    if not caption:
        return
    palette = _palette(ctx, element.get("id"))
    colour = palette.stroke if palette is not DEFAULT_PALETTE else "#4a5668"
    lines = wrap_text(caption, 140.0, 10.0, 1)
    width = text_width(lines[0], 10.0) + 10 if lines else 0.0
    if not width:
        return
    # Top right, clear of a flow entering the node's top centre.
    badge = Box(max(box.cx + 6, box.x + box.w + 8 - width), box.y - 9, width, 15)
    svg.add(
        group, "rect", {**svg.rect(badge, colour, "#ffffff", 1.0), "rx": 7.5, "class": "bpmn-badge"}
    )
    svg.text_lines(group, lines, badge.cx, badge.y + 2, 10.0, {"fill": "#ffffff"})
    ctx.extent.add(badge.x, badge.y, badge.w, badge.h)


# ---------------------------------------------------------------- pools and lanes


def _draw_band(parent: Element, ctx: Ctx, element: Element, shape: Element, box: Box) -> None:
    """A pool or lane with its name in a header strip: on the left, or on top when vertical."""
    kind = local(element)
    element_id = element.get("id")
    group = svg.add(parent, "g", {"id": f"{kind}-{element_id}", "class": f"bpmn-band bpmn-{kind}"})
    name = display_name(element)
    svg.add(group, "title", {}, name or element_id)
    fill = "#fbfcfd" if kind == "participant" else "none"
    svg.add(group, "rect", svg.rect(box, fill, "#8a96a8", 1.5 if kind == "participant" else 1.0))
    horizontal = shape.get("isHorizontal") != "false"
    if horizontal:
        band = Box(box.x, box.y, min(BAND_WIDTH, box.w), box.h)
    else:
        band = Box(box.x, box.y, box.w, min(BAND_WIDTH, box.h))
    svg.add(
        group,
        "rect",
        svg.rect(band, "#eef2f7" if kind == "participant" else "#f4f6f9", "#8a96a8", 1.0),
    )
    if name and horizontal:
        _vertical_label(group, name, band)
    elif name:
        lines = wrap_text(name, band.w - 12, 12.0, 1)
        attrs = {"fill": DEFAULT_PALETTE.text, "font-weight": 600}
        svg.text_lines(group, lines, band.cx, band.cy - 7, 12.0, attrs)
    ctx.extent.add(box.x, box.y, box.w, box.h)


def _vertical_label(parent: Element, name: str, band: Box) -> None:
    """CJK names stack upright character by character; other names are rotated."""
    colour = DEFAULT_PALETTE.text
    if WIDE.search(name):
        chars = [ch for ch in name if not ch.isspace()]
        size = max(min(13.0, (band.h - 12) / (len(chars) * LINE_HEIGHT), band.w - 12), 8.0)
        fit = max(int((band.h - 12) // (size * LINE_HEIGHT)), 1)
        if len(chars) > fit:
            chars = [*chars[: fit - 1], "\u22ee"]
        top = band.cy - svg.block_height(len(chars), size) / 2
        svg.text_lines(parent, chars, band.cx, top, size, {"fill": colour, "font-weight": 600})
        return
    lines = wrap_text(name, band.h - 12, 12.0, 2 if band.w >= 2 * 12.0 * LINE_HEIGHT else 1)
    top = band.cy - svg.block_height(len(lines), 12.0) / 2
    text = svg.text_lines(parent, lines, band.cx, top, 12.0, {"fill": colour, "font-weight": 600})
    text.set("transform", f"rotate(-90 {svg.num(band.cx)} {svg.num(band.cy)})")


# ---------------------------------------------------------------- activities


def _draw_activity(group: Element, ctx: Ctx, element: Element, shape: Element, box: Box) -> None:
    kind = local(element)
    palette = _palette(ctx, element.get("id"))
    expanded = is_expanded(element, shape)
    if expanded:
        group.set("class", group.get("class") + " bpmn-container")
    width = 3.5 if kind == "callActivity" else 1.6
    if ctx.marks.get(element.get("id")) == "active":
        width = max(width, 2.5)
    frame = svg.rect(box, palette.fill, palette.stroke, width, 8.0)
    if element.get("triggeredByEvent") == "true":
        frame["stroke-dasharray"] = "2 3"
        group.set("class", group.get("class") + " bpmn-event-subprocess")
    svg.add(group, "rect", frame)
    if kind == "transaction":
        inner = Box(box.x + 3, box.y + 3, box.w - 6, box.h - 6)
        svg.add(group, "rect", svg.rect(inner, "none", palette.stroke, 1.2, 6.0))
    icon = TASK_ICONS.get(kind)
    if icon is not None:
        icon(group, box.x + 7, box.y + 7, palette)
    name = display_name(element)
    collapsed = not expanded and (kind in CONTAINERS or _calls_process(ctx, element))
    markers = _activity_markers(group, element, box, palette, collapsed=collapsed)
    if expanded:
        lines = wrap_text(name, box.w - 16, TASK_FONT, 2)
        attrs = {"fill": palette.text, "text-anchor": "start"}
        svg.text_lines(group, lines, box.x + 8, box.y + 6, TASK_FONT, attrs)
        return
    top, bottom = (24.0 if icon else 8.0), (17.0 if markers else 8.0)
    area = Box(box.x + 7, box.y + top, box.w - 14, box.h - top - bottom)
    _activity_name(group, name, area, box.cy, palette)


def _calls_process(ctx: Ctx, element: Element) -> bool:
    """A call activity whose called element is a process (not a global task) shows a +."""
    called = ctx.elements.get(element.get("calledElement") or "")
    return local(element) == "callActivity" and called is not None and local(called) == "process"


def _activity_name(group: Element, name: str, area: Box, centre: float, palette: Palette) -> None:
    """Centre the wrapped name on the shape, kept inside `area` (clear of icon and markers)."""
    if not name:
        return
    size, lines = fitted_lines(name, area)
    height = svg.block_height(len(lines), size)
    top = max(area.y, min(centre - height / 2, area.y + area.h - height))
    svg.text_lines(group, lines, area.cx, top, size, {"fill": palette.text})


def fitted_lines(name: str, area: Box) -> tuple[float, list[str]]:
    """The largest font (down to 9) at which the whole name fits in `area`, and its lines.

    A font at which a Latin word would have to break inside the word counts as not fitting.
    Only when even the smallest font cannot hold it is the last line cut with an ellipsis.
    """
    size = TASK_FONT
    while True:
        line = size * LINE_HEIGHT
        max_lines = max(int((area.h + size * (LINE_HEIGHT - 1.2)) // line), 1)
        lines = wrap_text(name, area.w, size, max_lines)
        whole = wrap_text(name, area.w, size, max_lines + 1)
        words_fit = all(text_width(word, size) <= area.w for word in latin_words(name))
        if (len(whole) <= max_lines and words_fit) or size <= MIN_TASK_FONT:
            return size, lines
        size -= 1.0


def _activity_markers(
    group: Element, element: Element, box: Box, palette: Palette, collapsed: bool
) -> int:
    """Bottom-centre markers: collapsed sub-process (+), multi-instance (||| or ≡), loop."""
    markers = ["collapsed"] if collapsed else []
    loop = next((c for c in element if local(c).endswith("LoopCharacteristics")), None)
    if loop is not None and local(loop) == "multiInstanceLoopCharacteristics":
        markers.append("sequential" if loop.get("isSequential") == "true" else "parallel")
    elif loop is not None:
        markers.append("loop")
    start = box.cx - (len(markers) * 14 - 2) / 2
    for index, name in enumerate(markers):
        holder = svg.add(group, "g", {"class": f"bpmn-marker-{name}"})
        MARKERS[name](holder, start + index * 14, box.y + box.h - 16, palette.text)
    return len(markers)


# ---------------------------------------------------------------- events


def _event_definition(element: Element) -> str | None:
    for child in element:
        name = local(child)
        if name.endswith("EventDefinition"):
            return name.removesuffix("EventDefinition")
    return None


def _draw_event(group: Element, ctx: Ctx, element: Element, shape: Element, box: Box) -> None:
    kind = local(element)
    palette = _palette(ctx, element.get("id"))
    r = min(box.w, box.h) / 2
    circle = {"cx": box.cx, "cy": box.cy, "fill": palette.fill, "stroke": palette.stroke}
    dashed = {"stroke-dasharray": "4 2.5"} if _non_interrupting(element) else {}
    if kind == "endEvent":
        svg.add(group, "circle", {**circle, "r": r - 2, "stroke-width": 4})
    elif kind == "startEvent":
        svg.add(group, "circle", {**circle, "r": r, "stroke-width": 1.8, **dashed})
    else:
        svg.add(group, "circle", {**circle, "r": r, "stroke-width": 1.4, **dashed})
        svg.add(
            group, "circle", {**circle, "r": r - 3, "stroke-width": 1.4, **dashed, "fill": "none"}
        )
    definition = _event_definition(element)
    icon = EVENT_ICONS.get(definition or "")
    if icon is not None:
        throwing = kind in {"endEvent", "intermediateThrowEvent"}
        icon(group, box.cx, box.cy, r, palette, throwing)
    _outside_label(group, ctx, element, shape, box, DEFAULT_PALETTE.text)


def _non_interrupting(element: Element) -> bool:
    kind = local(element)
    if kind == "boundaryEvent":
        return bool(element.get("cancelActivity") == "false")
    return kind == "startEvent" and bool(element.get("isInterrupting") == "false")


# ---------------------------------------------------------------- gateways


def _draw_gateway(group: Element, ctx: Ctx, element: Element, shape: Element, box: Box) -> None:
    palette = _palette(ctx, element.get("id"))
    diamond = [(box.cx, box.y), (box.x + box.w, box.cy), (box.cx, box.y + box.h), (box.x, box.cy)]
    width = 2.5 if ctx.marks.get(element.get("id")) == "active" else 1.6
    svg.add(
        group,
        "polygon",
        {
            "points": svg.points(diamond),
            "fill": palette.fill,
            "stroke": palette.stroke,
            "stroke-width": width,
            "stroke-linejoin": "round",
        },
    )
    r = min(box.w, box.h) / 2
    kind = local(element)
    line = {
        "stroke": palette.text,
        "stroke-width": max(r * 0.14, 2.5),
        "stroke-linecap": "round",
        "fill": "none",
    }
    cx, cy = box.cx, box.cy
    arm = r * 0.36
    long = arm * 1.15
    plus = svg.path([(cx, cy - long), (cx, cy + long)], [(cx - long, cy), (cx + long, cy)])
    cross = svg.path(
        [(cx - arm, cy - arm), (cx + arm, cy + arm)], [(cx + arm, cy - arm), (cx - arm, cy + arm)]
    )
    if kind == "exclusiveGateway":
        # BPMN DI isMarkerVisible="false": the modeler chose the plain diamond.
        if shape.get("isMarkerVisible") != "false":
            svg.add(group, "path", {"d": cross, **line})
    elif kind == "parallelGateway":
        svg.add(group, "path", {"d": plus, **line})
    elif kind == "complexGateway":
        svg.add(group, "path", {"d": plus + cross, **line, "stroke-width": 2})
    elif kind == "inclusiveGateway":
        svg.add(group, "circle", {"cx": cx, "cy": cy, "r": r * 0.42, **line})
    else:
        event_gateway_marker(group, cx, cy, r, palette)
    _outside_label(group, ctx, element, shape, box, DEFAULT_PALETTE.text)


NODE_DRAWERS: Mapping[str, Callable[[Element, Ctx, Element, Element, Box], None]] = {
    "activity": _draw_activity,
    "event": _draw_event,
    "gateway": _draw_gateway,
    "textAnnotation": draw_annotation,
    "dataObjectReference": draw_data_object,
    "dataObject": draw_data_object,
    "dataInput": draw_data_object,
    "dataOutput": draw_data_object,
    "dataStoreReference": draw_data_store,
    "group": draw_group,
}
