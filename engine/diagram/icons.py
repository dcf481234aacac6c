"""The small glyphs drawn inside nodes: task-type icons, activity markers, event icons.

Each glyph is a function of its position and colours, looked up by name in `MARKERS`,
`TASK_ICONS` or `EVENT_ICONS`. Node outlines, names and state colours do not live here:
that is `shapes`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

from engine.diagram import svg
from engine.diagram.model import Box
from engine.diagram.model import Element
from engine.diagram.palette import Palette

# ---------------------------------------------------------------- activity markers


def _marker_parallel(group: Element, x: float, y: float, colour: str) -> None:
    bars = [[(x + dx, y), (x + dx, y + 12)] for dx in (2.0, 6.0, 10.0)]
    for bar in bars:
        svg.add(group, "path", {"d": svg.path(bar), **svg.ink(colour, 2.0)})


def _marker_sequential(group: Element, x: float, y: float, colour: str) -> None:
    bars = [[(x, y + dy), (x + 12, y + dy)] for dy in (2.0, 6.0, 10.0)]
    for bar in bars:
        svg.add(group, "path", {"d": svg.path(bar), **svg.ink(colour, 2.0)})


def _marker_collapsed(group: Element, x: float, y: float, colour: str) -> None:
    svg.add(group, "rect", svg.rect(Box(x, y, 12, 12), "none", colour, 1.2))
    plus = svg.path([(x + 6, y + 3), (x + 6, y + 9)], [(x + 3, y + 6), (x + 9, y + 6)])
    svg.add(group, "path", {"d": plus, **svg.ink(colour, 1.5)})


def _marker_loop(group: Element, x: float, y: float, colour: str) -> None:
    arc = f"M{svg.num(x + 3)} {svg.num(y + 10)}A5 5 0 1 1 {svg.num(x + 9)} {svg.num(y + 10)}"
    svg.add(group, "path", {"d": arc, **svg.ink(colour, 1.5)})
    svg.add(
        group,
        "path",
        {
            "d": svg.path([(x + 9, y + 6), (x + 9, y + 10), (x + 13, y + 10)]),
            **svg.ink(colour, 1.5),
        },
    )


MARKERS: Mapping[str, Callable[[Element, float, float, str], None]] = {
    "collapsed": _marker_collapsed,
    "parallel": _marker_parallel,
    "sequential": _marker_sequential,
    "loop": _marker_loop,
}


# ---------------------------------------------------------------- task-type icons


def _icon_user(group: Element, x: float, y: float, palette: Palette) -> None:
    ink = svg.ink(palette.text, 1.3)
    svg.add(group, "circle", {"cx": x + 7, "cy": y + 4.5, "r": 3.5, **ink})
    svg.add(
        group, "path", {"d": f"M{svg.num(x + 1)} {svg.num(y + 15)}c0-5 3-7 6-7s6 2 6 7z", **ink}
    )


def _icon_service(group: Element, x: float, y: float, palette: Palette) -> None:
    colour = palette.text
    gear = {"cx": x + 7, "cy": y + 7, "r": 5.2, "fill": "none", "stroke": colour}
    svg.add(group, "circle", {**gear, "stroke-width": 3, "stroke-dasharray": "2.1 2"})
    svg.add(group, "circle", {**gear, "r": 4, "stroke-width": 1.3, "fill": palette.fill})
    svg.add(group, "circle", {**gear, "r": 1.6, "stroke-width": 1.2})


def _icon_script(group: Element, x: float, y: float, palette: Palette) -> None:
    sheet = f"M{svg.num(x + 3)} {svg.num(y)}h10c-3 3-1 8-3 14h-10c2-6 0-11 3-14z"
    svg.add(group, "path", {"d": sheet, **svg.ink(palette.text, 1.2)})
    lines = [[(x + 4, y + dy), (x + 10, y + dy)] for dy in (4.0, 7.0, 10.0)]
    svg.add(group, "path", {"d": svg.path(*lines), **svg.ink(palette.text, 1.0)})


def _icon_send(group: Element, x: float, y: float, palette: Palette) -> None:
    _envelope(group, x + 7, y + 6, 11.0, palette.text, palette.fill, filled=True)


def _icon_receive(group: Element, x: float, y: float, palette: Palette) -> None:
    _envelope(group, x + 7, y + 6, 11.0, palette.text, palette.fill, filled=False)


def _icon_rule(group: Element, x: float, y: float, palette: Palette) -> None:
    svg.add(group, "rect", svg.rect(Box(x, y + 1, 15, 11), "none", palette.text, 1.2))
    grid = svg.path(
        [(x, y + 4.5), (x + 15, y + 4.5)],
        [(x, y + 8), (x + 15, y + 8)],
        [(x + 5, y + 4.5), (x + 5, y + 12)],
    )
    svg.add(group, "path", {"d": grid, **svg.ink(palette.text, 1.0)})


def _icon_manual(group: Element, x: float, y: float, palette: Palette) -> None:
    _type_letter(group, x, y, "M", palette)


def _type_letter(group: Element, x: float, y: float, letter: str, palette: Palette) -> None:
    attrs = {"fill": palette.text, "font-weight": 700, "font-family": "sans-serif"}
    svg.text_lines(group, [letter], x + 6, y, 11.0, attrs)


TASK_ICONS: Mapping[str, Callable[[Element, float, float, Palette], None]] = {
    "userTask": _icon_user,
    "serviceTask": _icon_service,
    "scriptTask": _icon_script,
    "sendTask": _icon_send,
    "receiveTask": _icon_receive,
    "businessRuleTask": _icon_rule,
    "manualTask": _icon_manual,
}


# ---------------------------------------------------------------- event icons


def _envelope(
    group: Element, cx: float, cy: float, r: float, colour: str, fill: str, filled: bool
) -> None:
    w, h = r * 1.3, r * 0.9
    x, y = cx - w / 2, cy - h / 2
    svg.add(group, "rect", svg.rect(Box(x, y, w, h), colour if filled else fill, colour, 1.2))
    flap = svg.path([(x, y), (cx, cy + h * 0.1), (x + w, y)])
    svg.add(group, "path", {"d": flap, **svg.ink(fill if filled else colour, 1.2)})


def _icon_message(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    _envelope(group, cx, cy, r * 0.62, palette.text, palette.fill, throwing)


def _icon_timer(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    face = r * 0.58
    svg.add(group, "circle", {"cx": cx, "cy": cy, "r": face, **svg.ink(palette.text, 1.5)})
    ticks = []
    for hour in range(12):
        dx, dy = math.sin(math.pi * hour / 6) * face, -math.cos(math.pi * hour / 6) * face
        ticks.append([(cx + dx * 0.78, cy + dy * 0.78), (cx + dx, cy + dy)])
    svg.add(group, "path", {"d": svg.path(*ticks), **svg.ink(palette.text, 0.9)})
    hands = svg.path([(cx, cy - face * 0.6), (cx, cy), (cx + face * 0.45, cy + face * 0.15)])
    svg.add(group, "path", {"d": hands, **svg.ink(palette.text, 1.4), "stroke-linecap": "round"})


def _icon_polygon(
    points: Sequence[tuple[float, float]],
) -> Callable[[Element, float, float, float, Palette, bool], None]:
    """An icon drawn as a polygon in unit coordinates (-1..1), filled when throwing."""

    def draw(
        group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
    ) -> None:
        scale = r * 0.5
        absolute = [(cx + px * scale, cy + py * scale) for px, py in points]
        ink = {**svg.ink(palette.text, 1.4), "stroke-linejoin": "round"}
        if throwing:
            ink["fill"] = palette.text
        svg.add(group, "polygon", {"points": svg.points(absolute), **ink})

    return draw


def _icon_terminate(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    svg.add(group, "circle", {"cx": cx, "cy": cy, "r": r * 0.5, "fill": palette.text})


def _icon_conditional(
    group: Element, cx: float, cy: float, r: float, palette: Palette, throwing: bool
) -> None:
    sheet = Box(cx - r * 0.4, cy - r * 0.5, r * 0.8, r)
    svg.add(group, "rect", svg.rect(sheet, "none", palette.text, 1.2))
    rows = [
        [(sheet.x + 2, sheet.y + sheet.h * f), (sheet.x + sheet.w - 2, sheet.y + sheet.h * f)]
        for f in (0.25, 0.5, 0.75)
    ]
    svg.add(group, "path", {"d": svg.path(*rows), **svg.ink(palette.text, 1.0)})


EVENT_ICONS: Mapping[str, Callable[[Element, float, float, float, Palette, bool], None]] = {
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


# ---------------------------------------------------------------- gateway markers


def event_gateway_marker(group: Element, cx: float, cy: float, r: float, palette: Palette) -> None:
    """The double ring with a pentagon inside an event-based gateway."""
    ring = {"cx": cx, "cy": cy, "fill": "none", "stroke": palette.text, "stroke-width": 1.1}
    svg.add(group, "circle", {**ring, "r": r * 0.5})
    svg.add(group, "circle", {**ring, "r": r * 0.42})
    pentagon = [
        (
            cx + math.sin(2 * math.pi * i / 5) * r * 0.25,
            cy - math.cos(2 * math.pi * i / 5) * r * 0.25,
        )
        for i in range(5)
    ]
    svg.add(
        group,
        "polygon",
        {
            "points": svg.points(pentagon),
            "fill": "none",
            "stroke": palette.text,
            "stroke-width": 1.3,
        },
    )
