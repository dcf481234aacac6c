"""The filters of a statistics request (period, grouping, process), parsed from strings.

Bad input raises InvalidTaskData with a field error per parameter, so every edge can answer it
with a clear message instead of a server error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from enum import StrEnum

from engine.deadlines.rules import LEGAL_TZ
from engine.errors import InvalidTaskData

DEFAULT_DAYS = 365
PROCESS_ID = re.compile(r"[A-Za-z_][\w.-]{0,99}", re.ASCII)
FIRST_YEAR, LAST_YEAR = 2000, 2100


class GroupBy(StrEnum):
    ORG = "org"
    TOWNSHIP = "township"
    PROCESS = "process"
    MONTH = "month"


@dataclass(frozen=True)
class StatsQuery:
    """Instances started from `date_from` to `date_to` (legal dates, both included)."""

    date_from: date
    date_to: date
    group_by: GroupBy = GroupBy.ORG
    process_id: str | None = None

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.date_from, time(), LEGAL_TZ)

    @property
    def end_utc(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.date_to + timedelta(days=1), time(), LEGAL_TZ)

    def as_args(self) -> dict[str, str]:
        """The query string that reproduces this query."""
        args = {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "group_by": str(self.group_by),
        }
        if self.process_id:
            args["process"] = self.process_id
        return args


def _date(args: Mapping[str, str], key: str, default: date, errors: dict[str, str]) -> date:
    text = (args.get(key) or "").strip()
    if not text:
        return default
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[key] = "日期格式应为 YYYY-MM-DD"
        return default
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors[key] = f"日期应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间"
        return default
    return day


def parse_query(args: Mapping[str, str], *, today: date) -> StatsQuery:
    """The query from `from`, `to`, `group_by` and `process`; by default the last 365 days.

    Raises:
        InvalidTaskData: a date is malformed or reversed, or the grouping is unknown.
    """
    errors: dict[str, str] = {}
    date_to = _date(args, "to", today, errors)
    date_from = _date(args, "from", date_to - timedelta(days=DEFAULT_DAYS - 1), errors)
    if not errors and date_from > date_to:
        errors["from"] = "开始日期不能晚于结束日期"
    group_text = (args.get("group_by") or GroupBy.ORG).strip()
    if group_text not in set(GroupBy):
        errors["group_by"] = "分组只能是 org、township、process 或 month"
    process_id = (args.get("process") or "").strip() or None
    if process_id is not None and not PROCESS_ID.fullmatch(process_id):
        errors["process"] = "没有这个流程"
    if errors:
        raise InvalidTaskData("invalid statistics query", errors)
    return StatsQuery(date_from, date_to, GroupBy(group_text), process_id)
