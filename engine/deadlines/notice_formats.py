"""Text forms of a holiday notice: JSON and CSV files for the CLI, lines for the admin form.

JSON (one file holds the whole notice)::

    {"year": 2027, "region": "national", "notice_no": "国办发明电(2026)7号",
     "holidays": [{"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"}],
     "workdays": [{"name": "春节调休", "date": "2027-02-06"}]}

`region` is `national` (default) or `xinjiang`; `end` may be left out for a one-day holiday.

CSV (year, region and 文号 come from the command line)::

    kind,name,start,end
    holiday,元旦,2027-01-01,2027-01-03
    workday,春节调休,2027-02-06,

Form lines: one holiday per line, `名称 开始日期 [结束日期]` (dates may also be joined by 至
or ~), one make-up working day per line, `名称 日期`. Every parser returns a checked `Notice`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from engine.deadlines.calendar import NATIONAL
from engine.deadlines.notices import InvalidNotice
from engine.deadlines.notices import Notice
from engine.deadlines.notices import NoticeProblem
from engine.deadlines.notices import RawRange
from engine.deadlines.notices import build_notice

CSV_COLUMNS = ("kind", "name", "start", "end")
_RANGE_JOINERS = ("至", "~", "～")  # noqa: RUF001 - the full-width tilde users type


def _invalid(where: str, code: str, line: int | None = None) -> InvalidNotice:
    return InvalidNotice([NoticeProblem(where, code, line)])


def _json_ranges(value: object, where: str, day_key: str) -> list[RawRange]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(where, "not_a_list")
    ranges = []
    for index, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            raise _invalid(where, "not_an_object", index)
        ranges.append(
            RawRange(
                index,
                str(item.get("name") or ""),
                str(item.get(day_key) or ""),
                str(item.get("end") or ""),
            )
        )
    return ranges


def parse_notice_json(text: str) -> Notice:
    """A notice from the JSON form (module docstring).

    Raises:
        InvalidNotice: not JSON, not of that shape, or failing `build_notice`.
    """
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError:
        raise _invalid("file", "not_json") from None
    if not isinstance(raw, dict):
        raise _invalid("file", "not_an_object")
    return build_notice(
        year=raw.get("year"),
        region=str(raw.get("region") or NATIONAL),
        notice_no=str(raw.get("notice_no") or ""),
        holidays=_json_ranges(raw.get("holidays"), "holidays", "start"),
        workdays=_json_ranges(raw.get("workdays"), "workdays", "date"),
    )


def parse_notice_csv(text: str, *, year: object, region: str, notice_no: str) -> Notice:
    """A notice from the CSV form (module docstring); line numbers count the header as 1.

    Raises:
        InvalidNotice: a missing header column, an unknown kind, or failing `build_notice`.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or not set(CSV_COLUMNS[:3]) <= set(reader.fieldnames):
        raise _invalid("file", "bad_header", 1)
    holidays: list[RawRange] = []
    workdays: list[RawRange] = []
    for line, row in enumerate(reader, start=2):
        item = RawRange(line, row.get("name") or "", row.get("start") or "", row.get("end") or "")
        kind = (row.get("kind") or "").strip()
        if kind == "holiday":
            holidays.append(item)
        elif kind == "workday":
            workdays.append(item)
        else:
            raise _invalid("file", "bad_kind", line)
    return build_notice(
        year=year, region=region, notice_no=notice_no, holidays=holidays, workdays=workdays
    )


def _lines(text: str, where: str) -> list[RawRange]:
    ranges = []
    for line, content in enumerate(text.splitlines(), start=1):
        for joiner in _RANGE_JOINERS:
            content = content.replace(joiner, " ")
        parts = content.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise _invalid(where, "bad_line", line)
        ranges.append(RawRange(line, parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    return ranges


def parse_notice_lines(
    *, year: object, region: str, notice_no: str, holidays: str, workdays: str
) -> Notice:
    """A notice from the admin form: holiday lines and make-up day lines (module docstring).

    Raises:
        InvalidNotice: a line that is not `名称 日期 [日期]`, or failing `build_notice`.
    """
    return build_notice(
        year=year,
        region=region,
        notice_no=notice_no,
        holidays=_lines(holidays, "holidays"),
        workdays=_lines(workdays, "workdays"),
    )
