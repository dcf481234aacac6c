"""Drawing data and artifacts: data objects, data stores, text annotations and groups.

Each drawer has the node-drawer signature `(group, ctx, element, di, box)` and is registered
in `shapes.NODE_DRAWERS` by the element's tag. Their connections (associations, data
associations) live in `connections`.
"""

from __future__ import annotations

from engine.diagram import svg
from engine.diagram.model import Box
from engine.diagram.model import Ctx
from engine.diagram.model import Element
from engine.diagram.model import bpmn
from engine.diagram.model import display_name
from engine.diagram.model import label_bounds
from engine.diagram.model import local
from engine.diagram.palette import DEFAULT_PALETTE
from engine.diagram.svg import HALO
from engine.diagram.svg import LABEL_FONT
from engine.diagram.svg import LINE_HEIGHT
from engine.diagram.svg import MIN_LABEL_WIDTH
from engine.diagram.svg import OUTSIDE_LABEL_LINES
from engine.diagram.text import wrap_text

ARTIFACT_STROKE = "#5b6678"
GROUP_DASH = "8 4 2 4"
FOLD = 10.0


def draw_data_object(group: Element, ctx: Ctx, element: Element, di: Element, box: Box) -> None:
    """A page with a folded corner; collection bars; input (hollow) or output (filled) arrow."""
    x0, y0, x1, y1 = box.x, box.y, box.x + box.w, box.y + box.h
    fold = min(FOLD, box.w / 3, box.h / 3)
    page = [(x0, y0), (x1 - fold, y0), (x1, y0 + fold), (x1, y1), (x0, y1)]
    svg.add(
        group,
        "polygon",
        {
            "points": svg.points(page),
            "fill": "#ffffff",
            "stroke": ARTIFACT_STROKE,
            "stroke-width": 1.4,
            "stroke-linejoin": "round",
        },
    )
    corner = svg.path([(x1 - fold, y0), (x1 - fold, y0 + fold), (x1, y0 + fold)])
    svg.add(group, "path", {"d": corner, **svg.ink(ARTIFACT_STROKE, 1.2)})
    target = _referenced(ctx, element)
    if target.get("isCollection") == "true":
        _collection_bars(group, box)
    kind = local(target)
    if kind in {"dataInput", "dataOutput"}:
        _data_arrow(group, box, filled=kind == "dataOutput")
    _label_below(group, ctx, element, di, box)


def _referenced(ctx: Ctx, element: Element) -> Element:
    """The dataObject a dataObjectReference names (it holds isCollection), else the element."""
    ref = element.get("dataObjectRef")
    target = ctx.elements.get(ref) if ref else None
    return target if target is not None else element


def _collection_bars(group: Element, box: Box) -> None:
    base, left = box.y + box.h - 4, box.cx - 6
    bars = [[(left + i * 5, base - 9), (left + i * 5, base)] for i in range(3)]
    svg.add(group, "path", {"d": svg.path(*bars), **svg.ink(ARTIFACT_STROKE, 1.6)})


def _data_arrow(group: Element, box: Box, *, filled: bool) -> None:
    x, y = box.x + 4, box.y + 4
    arrow = [(x, y + 3), (x + 6, y + 3), (x + 6, y), (x + 11, y + 5), (x + 6, y + 10)]
    arrow += [(x + 6, y + 7), (x, y + 7)]
    fill = ARTIFACT_STROKE if filled else "#ffffff"
    svg.add(
        group,
        "polygon",
        {"points": svg.points(arrow), "fill": fill, "stroke": ARTIFACT_STROKE, "stroke-width": 1},
    )


def draw_data_store(group: Element, ctx: Ctx, element: Element, di: Element, box: Box) -> None:
    """A cylinder: an elliptic lid, two rims below it and the body."""
    rx, ry = box.w / 2, min(box.h / 6, 8.0)
    x0, x1, top, bottom = box.x, box.x + box.w, box.y + ry, box.y + box.h - ry
    body = (
        f"M{svg.num(x0)} {svg.num(top)}V{svg.num(bottom)}"
        f"A{svg.num(rx)} {svg.num(ry)} 0 0 0 {svg.num(x1)} {svg.num(bottom)}"
        f"V{svg.num(top)}"
    )
    ink = {"stroke": ARTIFACT_STROKE, "stroke-width": 1.4}
    svg.add(group, "path", {"d": body, "fill": "#ffffff", **ink})
    lid = {"cx": box.cx, "rx": rx, "ry": ry, "fill": "#ffffff", **ink}
    svg.add(group, "ellipse", {**lid, "cy": top})
    for offset in (ry * 0.9, ry * 1.8):
        rim = (
            f"M{svg.num(x0)} {svg.num(top + offset)}"
            f"A{svg.num(rx)} {svg.num(ry)} 0 0 0 {svg.num(x1)} {svg.num(top + offset)}"
        )
        svg.add(group, "path", {"d": rim, "fill": "none", **ink, "stroke-width": 1.1})
    _label_below(group, ctx, element, di, box)


def draw_annotation(group: Element, ctx: Ctx, element: Element, di: Element, box: Box) -> None:
    """An open bracket on the left with the annotation's text beside it."""
    d = (
        f"M{svg.num(box.x + 10)} {svg.num(box.y)}"
        f"H{svg.num(box.x)}V{svg.num(box.y + box.h)}H{svg.num(box.x + 10)}"
    )
    svg.add(group, "path", {"d": d, "fill": "none", "stroke": "#8a96a8", "stroke-width": 1.3})
    text_el = element.find(bpmn("text"))
    text = (text_el.text or "").strip() if text_el is not None else ""
    if not text:
        return
    max_lines = max(int(box.h // (LABEL_FONT * LINE_HEIGHT)), 1)
    lines = wrap_text(text, box.w - 10, LABEL_FONT, max_lines)
    attrs = {"fill": "#4a5668", "text-anchor": "start"}
    svg.text_lines(group, lines, box.x + 6, box.y + 4, LABEL_FONT, attrs)


def draw_group(group: Element, ctx: Ctx, element: Element, di: Element, box: Box) -> None:
    """A dash-dot rounded frame; its category value (or name) as the label at the top."""
    frame = {**svg.rect(box, "none", ARTIFACT_STROKE, 1.3, 8.0), "stroke-dasharray": GROUP_DASH}
    svg.add(group, "rect", frame)
    name = _group_name(ctx, element)
    if not name:
        return
    label_box = label_bounds(di)
    width = label_box.w if label_box else box.w - 16
    lines = wrap_text(name, max(width, 60.0), LABEL_FONT, 2)
    cx = label_box.cx if label_box else box.cx
    top = label_box.y if label_box else box.y + 5
    svg.text_lines(group, lines, cx, top, LABEL_FONT, {"fill": DEFAULT_PALETTE.text, **HALO})


def _group_name(ctx: Ctx, element: Element) -> str:
    """A group is named by the categoryValue it references (BPMN 2.0 §7.6.2)."""
    ref = element.get("categoryValueRef")
    value = ctx.elements.get(ref) if ref else None
    if value is not None and (value.get("value") or "").strip():
        return str(value.get("value")).strip()
    return display_name(element)


def _label_below(group: Element, ctx: Ctx, element: Element, di: Element, box: Box) -> None:
    name = display_name(element)
    state = element.find(bpmn("dataState"))
    if state is not None and (state.get("name") or "").strip():
        name = f"{name}\n[{state.get('name', '').strip()}]"
    if not name:
        return
    label_box = label_bounds(di)
    width = max(label_box.w, MIN_LABEL_WIDTH) if label_box else 96.0
    lines = wrap_text(name, width, LABEL_FONT, OUTSIDE_LABEL_LINES)
    cx = label_box.cx if label_box else box.cx
    top = label_box.y if label_box else box.y + box.h + 4
    svg.text_lines(group, lines, cx, top, LABEL_FONT, {"fill": DEFAULT_PALETTE.text, **HALO})
    ctx.extent.add(cx - width / 2, top, width, svg.block_height(len(lines), LABEL_FONT))
