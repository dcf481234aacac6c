"""Server-rendered SVG charts (no JavaScript, print well): grouped bars and lines.

Each chart gets a table beside it in the template; the SVG carries a <title> for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

# Colours distinguishable in grey print too (dark, middle, light).
COLOURS = ("#1f4e79", "#5b9bd5", "#c9a227")
BAR_HEIGHT = 12
LABEL_WIDTH = 170
PLOT_WIDTH = 420
LINE_HEIGHT = 220
MIN_LINE_WIDTH = 520
POINT_SPACING = 60


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


LEGEND = Markup(
    '<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>'
    '<text x="{text_x}" y="{text_y}">{name}</text>'
)
SVG = Markup(
    '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
    'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
    'font-size="11" font-family="sans-serif"><title>{title}</title>{body}</svg>'
)
TEXT = Markup('<text x="{x}" y="{y}"{anchor}>{text}</text>')
NO_ANCHOR = Markup("")
END = Markup(' text-anchor="end"')
MIDDLE = Markup(' text-anchor="middle"')
RECT = Markup('<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="{colour}"/>')
AXIS = Markup('<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#888"/>')
POLYLINE = Markup('<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
CIRCLE = Markup('<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')


def _legend(series: Sequence[Series], y: int, left: int = LABEL_WIDTH) -> list[Markup]:
    parts = []
    for index, item in enumerate(series):
        x = left + index * 110
        parts.append(
            LEGEND.format(
                x=x, y=y, colour=COLOURS[index], text_x=x + 14, text_y=y + 9, name=item.name
            )
        )
    return parts


def _text(x: int, y: int, text: object, anchor: Markup = NO_ANCHOR) -> Markup:
    return TEXT.format(x=x, y=y, anchor=anchor, text=text)


def _svg(title: str, width: int, height: int, parts: list[Markup]) -> Markup:
    return SVG.format(width=width, height=height, title=title, body=Markup().join(parts))


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Horizontal grouped bars: one group per label, one bar per series, values written."""
    top = max((max(item.values, default=0) for item in series), default=0) or 1
    group_height = BAR_HEIGHT * len(series) + 10
    parts = _legend(series, 4)
    for row, label in enumerate(labels):
        y0 = 24 + row * group_height
        parts.append(_text(LABEL_WIDTH - 6, y0 + group_height // 2, label, END))
        for index, item in enumerate(series):
            value = item.values[row]
            y = y0 + index * BAR_HEIGHT
            width = round(PLOT_WIDTH * value / top)
            rect = RECT.format(
                x=LABEL_WIDTH, y=y, width=width, height=BAR_HEIGHT - 2, colour=COLOURS[index]
            )
            parts += [rect, _text(LABEL_WIDTH + width + 4, y + BAR_HEIGHT - 3, value)]
    height = 30 + len(labels) * group_height
    return _svg(title, LABEL_WIDTH + PLOT_WIDTH + 40, height, parts)


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """One line per series over the labels (months), with the points' values written."""
    top = max((max(item.values, default=0) for item in series), default=0) or 1
    plot_top, plot_bottom, left = 30, LINE_HEIGHT - 30, 40
    width = max(MIN_LINE_WIDTH, left + 40 + POINT_SPACING * len(labels))
    parts = [*_legend(series, 4, left), AXIS.format(x1=left, x2=width - 10, y=plot_bottom)]

    def point(index: int, value: int) -> tuple[int, int]:
        x = left + 20 + index * POINT_SPACING
        return x, round(plot_bottom - (plot_bottom - plot_top) * value / top)

    for index, label in enumerate(labels):
        x, _ = point(index, 0)
        parts.append(_text(x, plot_bottom + 16, label, MIDDLE))
    for number, item in enumerate(series):
        points = [point(index, value) for index, value in enumerate(item.values)]
        path = " ".join(f"{x},{y}" for x, y in points)
        parts.append(POLYLINE.format(points=path, colour=COLOURS[number]))
        for (x, y), value in zip(points, item.values, strict=True):
            parts += [CIRCLE.format(x=x, y=y, colour=COLOURS[number]), _text(x + 4, y - 5, value)]
    return _svg(title, width, LINE_HEIGHT, parts)
