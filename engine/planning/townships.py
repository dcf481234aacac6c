"""The 14 townships and towns of Yengisar County (DOMAIN.md section 11) and their org codes.

This is the only place that maps a township's Chinese name to its organization code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Township:
    name: str
    pinyin_id: str

    @property
    def org_code(self) -> str:
        """`TWP-` plus the upper-case pinyin id without its zhen/xiang suffix."""
        stem = self.pinyin_id.rsplit("_", 1)[0]
        return f"TWP-{stem.upper()}"


TOWNSHIPS: tuple[Township, ...] = (
    Township("英吉沙镇", "yingjisha_zhen"),
    Township("乌恰镇", "wuqia_zhen"),
    Township("芒辛镇", "mangxin_zhen"),
    Township("萨罕镇", "sahan_zhen"),
    Township("城关乡", "chengguan_xiang"),
    Township("乔勒潘乡", "qiaolepan_xiang"),
    Township("龙甫乡", "longfu_xiang"),
    Township("色提力乡", "setili_xiang"),
    Township("英也尔乡", "yingyeer_xiang"),
    Township("克孜勒乡", "kezile_xiang"),
    Township("托普鲁克乡", "tuopuluke_xiang"),
    Township("苏盖提乡", "sugaiti_xiang"),
    Township("艾古斯乡", "aigusi_xiang"),
    Township("依格孜也尔乡", "yigeziyeer_xiang"),
)

TOWNSHIP_CODE_BY_NAME: dict[str, str] = {t.name: t.org_code for t in TOWNSHIPS}
TOWNSHIP_CODES: frozenset[str] = frozenset(TOWNSHIP_CODE_BY_NAME.values())


def township_code(name_or_code: str) -> str | None:
    """Org code for a township given by Chinese name or already by code; None if unknown."""
    value = name_or_code.strip()
    if value in TOWNSHIP_CODES:
        return value
    return TOWNSHIP_CODE_BY_NAME.get(value)
