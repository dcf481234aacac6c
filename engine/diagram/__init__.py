"""Server-side SVG rendering of one process diagram from its BPMNDI.

`render_svg` reads the BPMNPlane of a process (or of the collaboration holding its
participant) and draws shapes and sequence flows as a standalone inline SVG: no scripts,
no external assets. The SVG tree is built with lxml, so every name taken from the
uploaded BPMN is escaped by the serializer and can never inject markup.

This package exposes only the names below. `model` reads the BPMN(DI), `text` measures
and wraps labels, `svg` builds elements, `palette` holds the colours, `shapes` and
`icons` draw nodes, `edges` draws sequence flows and `render` assembles the SVG. No
drawing code lives in this file.
"""

from engine.diagram.palette import COMPLETED_FLOW_COLOUR
from engine.diagram.palette import DEFAULT_PALETTE
from engine.diagram.palette import MARK_LABELS
from engine.diagram.palette import MARK_PALETTES
from engine.diagram.palette import Palette
from engine.diagram.render import render_diagram_svg
from engine.diagram.render import render_svg
from engine.diagram.text import wrap_text

__all__ = [
    "COMPLETED_FLOW_COLOUR",
    "DEFAULT_PALETTE",
    "MARK_LABELS",
    "MARK_PALETTES",
    "Palette",
    "render_diagram_svg",
    "render_svg",
    "wrap_text",
]
