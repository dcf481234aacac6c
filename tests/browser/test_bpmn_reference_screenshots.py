"""Every MIWG reference diagram drawn by engine.diagram, shown in Chromium.

The models are read from ../shared/conformance/miwg-reference (never copied). Each diagram
must lay out inside its SVG: every node's box lies within the viewBox. With
XIETONG_SCREENSHOTS=1 each one is saved to docs/screenshots/bpmn/ to be compared by eye with
the reference PNG beside its model (docs/conformance.md lists what differs).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import Browser

from engine.diagram import render_diagram_svg

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
MIWG = ROOT.parent / "shared" / "conformance" / "miwg-reference"
OUT = ROOT / "docs" / "screenshots" / "bpmn"
DIAGRAM = "{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram"


def _diagrams() -> list[tuple[str, int, int]]:
    if not MIWG.is_dir():
        return []
    found = []
    for path in sorted(MIWG.glob("*.bpmn")):
        count = len(list(etree.parse(str(path)).getroot().iter(DIAGRAM)))
        found += [(path.stem, index, count) for index in range(count)]
    return found


@pytest.mark.skipif(not MIWG.is_dir(), reason=f"conformance corpus missing: {MIWG}")
@pytest.mark.parametrize(("model", "index", "count"), _diagrams())
def test_reference_diagram_renders_in_chromium(
    browser: Browser, model: str, index: int, count: int
) -> None:
    svg = render_diagram_svg((MIWG / f"{model}.bpmn").read_bytes(), index)
    page = browser.new_page()
    try:
        page.set_content(f"<html><body style='margin:0;background:#fff'>{svg}</body></html>")
        outside = page.evaluate(
            """() => {
                const svg = document.querySelector('svg');
                const view = svg.viewBox.baseVal;
                return [...svg.querySelectorAll('g.bpmn-node')].filter(g => {
                    const b = g.getBBox();
                    return b.x < view.x - 1 || b.y < view.y - 1 ||
                        b.x + b.width > view.x + view.width + 1 ||
                        b.y + b.height > view.y + view.height + 1;
                }).map(g => g.id);
            }"""
        )
        assert outside == []
        if os.environ.get("XIETONG_SCREENSHOTS") == "1":
            OUT.mkdir(parents=True, exist_ok=True)
            name = model if count == 1 else f"{model}.{index + 1}"
            page.locator("svg").screenshot(path=str(OUT / f"{name}.png"))
    finally:
        page.close()
