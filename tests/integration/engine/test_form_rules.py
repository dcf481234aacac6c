"""Form rules beyond JSON Schema: acting side, offered choices, date windows, once a period."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.cases.forms import Submitter
from engine.cases.forms import validate_submission
from engine.errors import InvalidTaskData
from tests.conftest import START
from tests.factories import make_user

# START is 09:00 on Monday 2 March 2026 in Beijing.


def errors_of(session: Session, schema: dict[str, Any], data: dict[str, Any], **kw: Any) -> Any:
    try:
        validate_submission(session, schema, data, now=START, **kw)
    except InvalidTaskData as exc:
        return exc.field_errors
    return {}


def window(rule: dict[str, Any], fmt: str = "date") -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"day": {"type": "string", "format": fmt, "title": "日期", **rule}},
    }


def test_offsets_from_today_bound_a_date(session: Session) -> None:
    schema = window({"x-xietong-window": {"not_before": "-2y", "not_after": "+5y"}})
    assert errors_of(session, schema, {"day": "2031-03-02"}) == {}
    assert errors_of(session, schema, {"day": "2031-03-03"}) == {
        "day": "日期不能晚于5 年后 (2031-03-02)"
    }
    assert errors_of(session, schema, {"day": "2024-03-01"}) == {
        "day": "日期不能早于2 年前 (2024-03-02)"
    }


def test_a_data_key_bounds_a_date_and_a_missing_key_is_skipped(session: Session) -> None:
    rule = {"x-xietong-window": {"not_before": {"key": "plan.approved_on", "title": "批准日期"}}}
    schema = window(rule)
    context = {"plan": {"approved_on": "2026-03-10"}}
    assert errors_of(session, schema, {"day": "2026-03-09"}, context=context) == {
        "day": "日期不能早于批准日期 (2026-03-10)"
    }
    assert errors_of(session, schema, {"day": "2026-03-10"}, context=context) == {}
    assert errors_of(session, schema, {"day": "1900-01-01"}, context={}) == {}


def test_date_times_compare_instants_and_the_case_start_bounds_a_step(session: Session) -> None:
    schema = window(
        {"x-xietong-window": {"not_before": "case_start", "not_after": "now"}}, "date-time"
    )
    started = datetime(2026, 2, 27, 1, 0, tzinfo=UTC)
    submitter = Submitter(case_start=started)
    late = {"day": "2026-03-02T09:01:00+08:00"}
    early = {"day": "2026-02-27T08:59:00+08:00"}
    assert errors_of(session, schema, late, submitter=submitter) == {
        "day": "日期不能晚于当前时间 (2026-03-02 09:00)"
    }
    assert errors_of(session, schema, early, submitter=submitter) == {
        "day": "日期不能早于案件发起日期 (2026-02-27 09:00)"
    }
    assert (
        errors_of(session, schema, {"day": "2026-03-01T10:00:00+08:00"}, submitter=submitter) == {}
    )


def test_a_stamp_is_checked_against_its_window(session: Session) -> None:
    schema = window(
        {"x-xietong-stamp": True, "x-xietong-window": {"not_before": "visit_date"}}, "date-time"
    )
    assert errors_of(session, schema, {}, context={"visit_date": "2026-03-03"}) == {
        "day": "日期不能早于visit_date (2026-03-03)"
    }
    assert errors_of(session, schema, {}, context={"visit_date": "2026-03-02"}) == {}


CHOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "team": {
            "type": "array",
            "title": "检查人员",
            "items": {"type": "string"},
            "x-xietong-choices": {"path": "draw.teams.=agency_org", "key": "username"},
        }
    },
}


def test_choices_follow_a_data_key_inside_the_path(session: Session) -> None:
    context = {
        "agency_org": "YJS-YJ",
        "draw": {
            "teams": {"YJS-YJ": [{"username": "a"}, {"username": "b"}], "X": [{"username": "c"}]}
        },
    }
    assert errors_of(session, CHOICE_SCHEMA, {"team": ["a", "b"]}, context=context) == {}
    assert errors_of(session, CHOICE_SCHEMA, {"team": ["a", "c"]}, context=context) == {
        "team": "检查人员只能从系统给出的选项中选择 (c 不在其中)"
    }
    assert errors_of(session, CHOICE_SCHEMA, {"team": ["c"]}, context={}) == {}, "nothing offered"


def test_a_choice_posted_by_the_form_itself_offers_nothing(session: Session) -> None:
    schema = {
        "type": "object",
        "properties": {
            "visit_date": {"type": "string", "x-xietong-choices": "visit_dates"},
            "visit_dates": {"type": "array", "items": {"type": "string"}},
        },
    }
    forged = {"visit_date": "1900-01-01", "visit_dates": ["1900-01-01"]}
    offered = {"visit_dates": ["2026-12-14"]}
    assert set(errors_of(session, schema, forged, context=offered)) == {"visit_date"}


UNIQUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"period": {"type": "string", "title": "评估期间", "x-xietong-unique": "task"}},
}


@pytest.mark.parametrize("again", ["2026年度", " 2026 年度", "2026年度\n"])
def test_a_period_given_before_is_refused_whatever_its_spacing(
    session: Session, again: str
) -> None:
    earlier = Submitter(earlier=[{"period": "2025年度"}, {"period": "2026年度"}])
    assert set(errors_of(session, UNIQUE_SCHEMA, {"period": again}, submitter=earlier)) == {
        "period"
    }
    assert errors_of(session, UNIQUE_SCHEMA, {"period": "2027年度"}, submitter=earlier) == {}


ACTING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "lead_org": {"type": "string", "title": "牵头部门", "x-xietong-acting-org": True},
        "partner_org": {"type": "string", "title": "配合部门"},
    },
}


def test_only_the_acting_side_is_fixed_to_the_users_organization(session: Session) -> None:
    officer = make_user(session, username="acting_a", org_code="YJS-YJ")
    mine = Submitter(user=officer)
    assert (
        errors_of(
            session, ACTING_SCHEMA, {"lead_org": "YJS-YJ", "partner_org": "YJS-WJW"}, submitter=mine
        )
        == {}
    )
    assert errors_of(session, ACTING_SCHEMA, {"lead_org": "YJS-WJW"}, submitter=mine) == {
        "lead_org": "牵头部门只能是您所在的机构 (YJS-YJ)"
    }
    assert errors_of(session, ACTING_SCHEMA, {"lead_org": "YJS-WJW"}, submitter=Submitter()) == {}


def test_team_members_must_belong_to_the_named_organization(session: Session) -> None:
    make_user(session, username="twp_a", org_code="TWP-A", certificates=[([], date(2029, 1, 1))])
    make_user(session, username="twp_b", org_code="TWP-B", certificates=[([], date(2029, 1, 1))])
    schema = {
        "type": "object",
        "properties": {
            "officers": {
                "type": "array",
                "items": {"type": "string"},
                "x-xietong-team": {"min": 2, "org": "=township_org"},
            }
        },
    }
    errors = errors_of(
        session, schema, {"officers": ["twp_a", "twp_b"]}, context={"township_org": "TWP-A"}
    )
    assert errors == {"officers": "twp_b: 不是 TWP-A 的执法人员"}
