"""Drawing sequence flows: route, line, arrowhead, default-flow slash and name.

A flow follows its DI waypoints when they reach the shapes it joins, else an orthogonal
connector between them. Nodes live in `shapes`; the order flows are drawn in lives in
`render`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from engine.diagram import svg
from engine.diagram.model import Box
from engine.diagram.model import Ctx
from engine.diagram.model import Element
from engine.diagram.model import display_name
from engine.diagram.model import label_bounds
from engine.diagram.model import waypoints
from engine.diagram.palette import COMPLETED_FLOW_COLOUR
from engine.diagram.palette import FLOW_COLOUR
from engine.diagram.svg import HALO
from engine.diagram.svg import LABEL_FONT
from engine.diagram.svg import MIN_LABEL_WIDTH
from engine.diagram.svg import OUTSIDE_LABEL_LINES
from engine.diagram.text import wrap_text


def draw_flow(parent: Element, ctx: Ctx, flow: Element, edge: Element | None) -> None:
    """Draw one sequence flow (green when marked completed); skipped when it cannot be routed."""
    flow_id = flow.get("id")
    points = route(ctx, flow.get("sourceRef"), flow.get("targetRef"), edge)
    if not points:
        return
    completed = ctx.marks.get(flow_id) == "completed"
    colour = COMPLETED_FLOW_COLOUR if completed else FLOW_COLOUR
    classes = "bpmn-flow state-completed" if completed else "bpmn-flow"
    group = svg.add(parent, "g", {"id": f"flow-{flow_id}", "class": classes})
    name = display_name(flow)
    if name:
        svg.add(group, "title", {}, name)
    line = {"fill": "none", "stroke": colour, "stroke-width": 2.2 if completed else 1.4}
    svg.add(group, "polyline", {"points": svg.points(points), **line, "stroke-linejoin": "round"})
    svg.add(
        group,
        "polygon",
        {
            "points": svg.points(arrowhead(points)),
            "fill": colour,
            "stroke": colour,
            "stroke-width": 1,
        },
    )
    source = ctx.elements.get(flow.get("sourceRef") or "")
    if source is not None and source.get("default") == flow_id:
        svg.add(group, "path", {"d": _default_slash(points), "stroke": colour, "stroke-width": 1.6})
    for x, y in points:
        ctx.extent.add(x, y)
    if name:
        flow_label(group, ctx, name, edge, points)


def route(
    ctx: Ctx, source_id: str | None, target_id: str | None, edge: Element | None
) -> list[tuple[float, float]]:
    """The DI waypoints; a drawn connector when they miss the shapes they should join."""
    points = waypoints(edge) if edge is not None else []
    source = ctx.boxes.get(source_id or "")
    target = ctx.boxes.get(target_id or "")
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


def _direction(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    return (1.0, 0.0) if length == 0 else (dx / length, dy / length)


def arrowhead(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The three corners of an arrowhead at the last point, along the last segment."""
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
    return f"M{svg.num(mx - vx)} {svg.num(my - vy)}L{svg.num(mx + vx)} {svg.num(my + vy)}"


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


def flow_label(
    group: Element,
    ctx: Ctx,
    name: str,
    edge: Element | None,
    points: Sequence[tuple[float, float]],
) -> None:
    """The name of a connection: in its BPMNLabel bounds, else above its midpoint."""
    label_box = label_bounds(edge) if edge is not None else None
    width = max(label_box.w, MIN_LABEL_WIDTH) if label_box else 90.0
    lines = wrap_text(name, width, LABEL_FONT, OUTSIDE_LABEL_LINES)
    if label_box:
        cx, top = label_box.cx, label_box.y
    else:
        mx, my = _midpoint(points)
        cx, top = mx, my - svg.block_height(len(lines), LABEL_FONT) - 3
    attrs = {"fill": "#2f3b4c", "class": "bpmn-flow-label", **HALO}
    svg.text_lines(group, lines, cx, top, LABEL_FONT, attrs)
    ctx.extent.add(cx - width / 2, top, width, svg.block_height(len(lines), LABEL_FONT))
