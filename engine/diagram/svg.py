"""SVG building blocks for the diagram: elements, numbers, paths, strokes and text lines.

Every attribute and text passes through `text.xml_safe` and lxml's serializer here, so
names from the uploaded BPMN can never inject markup. What to draw for a BPMN element
does not live here: that is `shapes`, `icons` and `edges`.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from lxml import etree

from engine.diagram.model import Box
from engine.diagram.model import Element
from engine.diagram.text import xml_safe

SVG_NS = "http://www.w3.org/2000/svg"

TASK_FONT = 12.0
LABEL_FONT = 11.0
LINE_HEIGHT = 1.3
# Labels outside their shape (events, gateways, data): long names wrap, up to this many lines.
OUTSIDE_LABEL_LINES = 5
# Modelers size label bounds to their own font; ours may be wider, so never wrap narrower.
MIN_LABEL_WIDTH = 90.0

# A white outline behind label text keeps it readable where it crosses a flow.
HALO = {
    "stroke": "#ffffff",
    "stroke-width": 3,
    "paint-order": "stroke",
    "stroke-linejoin": "round",
}


def num(value: float) -> str:
    """A coordinate with at most one decimal and no trailing zeros or negative zero."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def add(parent: Element, tag: str, attrs: Mapping[str, object], text: str | None = None) -> Element:
    """Append an SVG element; numbers are formatted with `num`, strings made XML-safe."""
    el = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for key, value in attrs.items():
        el.set(key, num(value) if isinstance(value, float | int) else xml_safe(str(value)))
    if text is not None:
        el.text = xml_safe(text)
    return el


def set_all(el: Element, attrs: Mapping[str, str]) -> None:
    """Set string attributes on an existing element, made XML-safe."""
    for key, value in attrs.items():
        el.set(key, xml_safe(value))


def points(coords: Sequence[tuple[float, float]]) -> str:
    """The `points` attribute of a polyline or polygon."""
    return " ".join(f"{num(x)},{num(y)}" for x, y in coords)


def path(*strokes: Sequence[tuple[float, float]]) -> str:
    """Path data for open polylines, one per stroke."""
    parts = []
    for stroke in strokes:
        parts.append("M" + "L".join(f"{num(x)} {num(y)}" for x, y in stroke))
    return "".join(parts)


def ink(colour: str, width: float) -> dict[str, object]:
    """Attributes of an unfilled stroke."""
    return {"fill": "none", "stroke": colour, "stroke-width": width}


def rect(box: Box, fill: str, stroke: str, width: float, radius: float = 0.0) -> dict[str, object]:
    """Attributes of a `rect` covering `box`, rounded when `radius` is set."""
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


def text_lines(
    parent: Element,
    lines: Sequence[str],
    x: float,
    top: float,
    size: float,
    attrs: Mapping[str, object],
) -> Element:
    """Draw centred lines whose first line box starts at `top`."""
    text = add(parent, "text", {"x": x, "font-size": size, "text-anchor": "middle", **attrs})
    for index, line in enumerate(lines):
        baseline = top + size * (LINE_HEIGHT * index + 0.95)
        add(text, "tspan", {"x": x, "y": baseline}, line)
    return text


def block_height(count: int, size: float) -> float:
    """Height of `count` lines drawn by `text_lines` at font `size`."""
    return size * (LINE_HEIGHT * (count - 1) + 1.2) if count else 0.0
