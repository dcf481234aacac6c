"""Holiday notices from JSON, CSV and form lines: the days they name and every problem at once."""

from __future__ import annotations

import json
from datetime import date

import pytest

from engine.deadlines.calendar import OverrideKind
from engine.deadlines.notice_formats import parse_notice_csv
from engine.deadlines.notice_formats import parse_notice_json
from engine.deadlines.notice_formats import parse_notice_lines
from engine.deadlines.notices import InvalidNotice
from engine.deadlines.notices import NoticeDay


def test_json_notice_expands_ranges_and_make_up_days() -> None:
    text = json.dumps(
        {
            "year": 2027,
            "notice_no": "国办发明电（2026）99号",
            "holidays": [{"name": "元旦", "start": "2026-12-31", "end": "2027-01-02"}],
            "workdays": [{"name": "元旦调休", "date": "2027-01-04"}],
        }
    )

    notice = parse_notice_json(text)

    assert (notice.year, notice.region, notice.notice_no) == (
        2027,
        "national",
        "国办发明电（2026）99号",
    )
    assert notice.days == (
        NoticeDay(date(2026, 12, 31), OverrideKind.HOLIDAY, "元旦"),
        NoticeDay(date(2027, 1, 1), OverrideKind.HOLIDAY, "元旦"),
        NoticeDay(date(2027, 1, 2), OverrideKind.HOLIDAY, "元旦"),
        NoticeDay(date(2027, 1, 4), OverrideKind.WORKDAY, "元旦调休"),
    )


def test_every_problem_is_reported_with_its_field_and_line() -> None:
    with pytest.raises(InvalidNotice) as caught:
        parse_notice_lines(
            year="2027",
            region="mars",
            notice_no="",
            holidays="春节 2027-02-05 2027-02-01\n清明 2028-04-05\n劳动节 2027-05-01",
            workdays="调休 2027-05-01",
        )

    assert [str(p) for p in caught.value.problems] == [
        "region: unknown_region",
        "notice_no: required",
        "holidays line 1: bad_range",
        "holidays line 2: outside_year",
        "holidays: duplicate_day",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "file: not_json"),
        ("[1]", "file: not_an_object"),
        ('{"year": 2027, "notice_no": "x", "holidays": {}}', "holidays: not_a_list"),
        ('{"year": "20x7", "notice_no": "x", "holidays": []}', "year: bad_year"),
        ('{"year": 2027, "notice_no": "x"}', "holidays: empty"),
    ],
)
def test_malformed_json_is_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidNotice) as caught:
        parse_notice_json(text)

    assert [str(p) for p in caught.value.problems] == [problem]


def test_csv_needs_its_header_and_known_kinds() -> None:
    with pytest.raises(InvalidNotice) as no_header:
        parse_notice_csv("a,b\n", year=2027, region="national", notice_no="x")
    with pytest.raises(InvalidNotice) as bad_kind:
        parse_notice_csv(
            "kind,name,start,end\nparty,x,2027-01-01,\n",
            year=2027,
            region="national",
            notice_no="x",
        )

    assert [str(p) for p in no_header.value.problems] == ["file line 1: bad_header"]
    assert [str(p) for p in bad_kind.value.problems] == ["file line 2: bad_kind"]


def test_a_form_line_needs_a_name_and_one_or_two_dates() -> None:
    with pytest.raises(InvalidNotice) as caught:
        parse_notice_lines(
            year=2027, region="xinjiang", notice_no="x", holidays="肉孜节", workdays=""
        )

    assert [str(p) for p in caught.value.problems] == ["holidays line 1: bad_line"]
