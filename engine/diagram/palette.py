"""Colours of the diagram: node states, flows, and the Chinese names of the states.

Only constants live here; which element gets which colour is decided in `shapes`,
`edges` and `render`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


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
