"""Server-rendered SVG charts: proportional bars, one polyline per series, escaped labels."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from web.charts import PLOT_WIDTH
from web.charts import Series
from web.charts import bar_chart
from web.charts import line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_proportional_to_the_largest_value_and_labels_are_escaped() -> None:
    svg = str(
        bar_chart("图", ["<script>甲", "乙"], [Series("发起", [4, 2]), Series("办结", [1, 0])])
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own SVG; parsing proves the label was escaped
    rects = list(root.iter(f"{SVG}rect"))[2:]  # after the legend's two swatches
    widths = [int(r.get("width", "0")) for r in rects]
    assert widths == [PLOT_WIDTH, PLOT_WIDTH // 4, PLOT_WIDTH // 2, 0]
    assert "&lt;script&gt;甲" in svg and "<script" not in svg


def test_line_chart_has_a_line_per_series_inside_its_width() -> None:
    months = ["2031-01", "2031-02", "2031-03"]
    series = [Series("发起", [1, 3, 2]), Series("办结", [0, 1, 2]), Series("在办", [1, 2, 0])]
    root = ET.fromstring(str(line_chart("图", months, series)))  # noqa: S314 - our own SVG
    assert len(list(root.iter(f"{SVG}polyline"))) == 3
    width = int(root.get("width", "0"))
    xs = [float(x) for t in root.iter(f"{SVG}text") for x in re.findall(r"\d+", t.get("x", ""))]
    assert max(xs) < width
