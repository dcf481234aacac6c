"""Statistics figures against the hand-computed values of tests/statistics_data.py."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy.orm import Session

from engine.errors import InvalidTaskData
from engine.errors import NotFound
from engine.models import Role
from engine.models import User
from engine.monitoring.models import FlagKind
from engine.statistics import export
from engine.statistics import service
from engine.statistics.query import GroupBy
from engine.statistics.query import StatsQuery
from engine.statistics.query import parse_query
from engine.statistics.service import GroupRow
from tests import statistics_data as data
from tests.factories import make_user


@pytest.fixture
def dataset(session: Session) -> dict[str, int]:
    return data.build(session)


@pytest.fixture
def coordinator(session: Session) -> User:
    return make_user(session, username="stat_coord", org_code="YJS-SFJ", role=Role.COORDINATOR)


def _query(group_by: GroupBy, process_id: str | None = None) -> StatsQuery:
    return StatsQuery(data.DATE_FROM, data.DATE_TO, group_by, process_id)


def _by_key(session: Session, user: User, group_by: GroupBy) -> dict[str, GroupRow]:
    stats = service.compute(session, user, _query(group_by), now=data.NOW)
    return {row.key: row for row in stats.groups}


def _counts(row: GroupRow) -> tuple[int, int, int, int]:
    return row.started, row.closed, row.open, row.cancelled


def test_counts_per_organization_with_flag_rates(
    session: Session, dataset: dict[str, int], coordinator: User
) -> None:
    rows = _by_key(session, coordinator, GroupBy.ORG)
    assert set(rows) == {data.ORG_A, data.ORG_B}
    a, b = rows[data.ORG_A], rows[data.ORG_B]
    assert _counts(a) == (3, 1, 2, 0)  # done, late, first (error counts as open); not before
    assert _counts(b) == (2, 0, 1, 1)
    assert (a.count(FlagKind.YELLOW), a.count(FlagKind.RED), a.count(FlagKind.STALLED)) == (1, 1, 0)
    assert a.rate(FlagKind.YELLOW) == pytest.approx(1 / 3)
    assert b.rate(FlagKind.STALLED) == pytest.approx(0.5)
    assert a.label == "县市场监督管理局"


def test_total_is_the_sum_of_the_groups(
    session: Session, dataset: dict[str, int], coordinator: User
) -> None:
    stats = service.compute(session, coordinator, _query(GroupBy.ORG), now=data.NOW)
    assert _counts(stats.total) == (5, 1, 3, 1)
    assert stats.total.rate(FlagKind.RED) == pytest.approx(1 / 5)


def test_counts_per_township_process_and_month(
    session: Session, dataset: dict[str, int], coordinator: User
) -> None:
    townships = _by_key(session, coordinator, GroupBy.TOWNSHIP)
    assert {key: row.started for key, row in townships.items()} == {data.TOWNSHIP: 2, "": 3}
    processes = _by_key(session, coordinator, GroupBy.PROCESS)
    assert {key: row.started for key, row in processes.items()} == {"stat_p1": 4, "stat_p2": 1}
    assert processes["stat_p2"].label == "统计流程二"
    # 2031-02-28 16:00 UTC is 1 March in Beijing: the first instance is March's.
    months = _by_key(session, coordinator, GroupBy.MONTH)
    assert {key: _counts(row) for key, row in months.items()} == {
        "2031-03": (3, 1, 2, 0),
        "2031-04": (2, 0, 1, 1),
    }


def test_step_on_time_rate_durations_and_limit(
    session: Session, dataset: dict[str, int], coordinator: User
) -> None:
    stats = service.compute(session, coordinator, _query(GroupBy.ORG), now=data.NOW)
    steps = {(s.process_id, s.bpmn_id): s for s in stats.steps}
    review = steps[("stat_p1", "review")]
    assert (review.completed, review.on_time, review.late) == (4, 2, 1)
    assert review.on_time_rate == pytest.approx(2 / 3)
    assert review.median_hours == pytest.approx(24)
    assert review.p90_hours == pytest.approx(72)
    assert (review.limit_text, review.limit_basis) == (data.LIMIT_TEXT, data.LIMIT_BASIS)
    decide = steps[("stat_p1", "decide")]
    assert (decide.completed, decide.open_overdue, decide.on_time_rate) == (0, 1, None)
    assert decide.median_hours is None


def test_process_filter_narrows_every_figure(
    session: Session, dataset: dict[str, int], coordinator: User
) -> None:
    stats = service.compute(session, coordinator, _query(GroupBy.ORG, "stat_p2"), now=data.NOW)
    assert [(row.key, row.started) for row in stats.groups] == [(data.ORG_B, 1)]
    assert stats.steps == []


def test_head_sees_only_their_organization(session: Session, dataset: dict[str, int]) -> None:
    head = make_user(session, username="stat_head", org_code=data.ORG_B, role=Role.HEAD)
    rows = _by_key(session, head, GroupBy.ORG)
    assert set(rows) == {data.ORG_B}
    assert rows[data.ORG_B].started == 2


def test_officer_has_no_statistics(session: Session, dataset: dict[str, int]) -> None:
    officer = make_user(session, username="stat_officer", org_code=data.ORG_A)
    with pytest.raises(NotFound):
        service.compute(session, officer, _query(GroupBy.ORG), now=data.NOW)


def test_nearest_rank_percentiles() -> None:
    assert service.nearest_rank([], 0.5) is None
    assert service.nearest_rank([5.0], 0.9) == 5.0
    assert service.nearest_rank([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert service.nearest_rank([float(n) for n in range(1, 11)], 0.9) == 9.0


def test_parse_query_defaults_and_errors() -> None:
    today = data.DATE_TO
    query = parse_query({}, today=today)
    assert (query.date_to, (query.date_to - query.date_from).days) == (today, 364)
    assert query.group_by is GroupBy.ORG
    with pytest.raises(InvalidTaskData) as caught:
        parse_query(
            {"from": "2031-05-01", "to": "2031-04-01", "group_by": "x", "process": "a b"},
            today=today,
        )
    assert set(caught.value.field_errors) == {"from", "group_by", "process"}
    with pytest.raises(InvalidTaskData) as caught:
        parse_query({"to": "0001-01-01", "from": "31-12-2031"}, today=today)
    assert set(caught.value.field_errors) == {"from", "to"}


def test_xlsx_keeps_formula_like_text_as_text_and_times_in_beijing() -> None:
    moment = data.NOW  # 2031-05-01 00:00 UTC is 08:00 in Beijing
    table = export.Table(
        "表", ("名称", "时间"), (10, 20), [("=cmd|' /C calc'!A0", moment), ("-1", None)]
    )
    book = openpyxl.load_workbook(io.BytesIO(export.write_xlsx([table])))
    sheet = book["表"]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == 20
    assert [c.value for c in sheet[1]] == ["名称", "时间"]
    cell = sheet["A2"]
    assert (cell.value, cell.data_type) == ("=cmd|' /C calc'!A0", "s")
    assert sheet["B2"].value.isoformat() == "2031-05-01T08:00:00"
    assert sheet["A3"].data_type == "s"


def test_csv_has_a_bom_and_defuses_formulas() -> None:
    table = export.Table("表", ("名称", "数"), (10, 10), [("=cmd", 3), ("@x", -2)])
    body = export.write_csv(table)
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines == ["名称,数", "'=cmd,3", "'@x,-2"]
