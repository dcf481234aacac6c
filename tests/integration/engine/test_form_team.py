"""`x-xietong-team`: at least N distinct active users with a certificate valid on the date."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.cases.forms import validate_submission
from engine.errors import InvalidTaskData
from engine.planning.service import declare_conflict
from tests.conftest import START
from tests.factories import make_user

TEAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["team"],
    "properties": {
        "enforcement_field": {"type": "string"},
        "inspected_on": {"type": "string", "format": "date"},
        "team": {
            "type": "array",
            "items": {"type": "string"},
            "x-xietong-team": {"min": 2, "field": "=enforcement_field", "date": "=inspected_on"},
        },
    },
}


@pytest.fixture(autouse=True)
def inspectors(session: Session) -> None:
    make_user(session, username="food_a", certificates=[(["food"], date(2027, 12, 31))])
    make_user(session, username="food_b", certificates=[(["food", "drug"], date(2026, 6, 30))])
    make_user(session, username="drug_only", certificates=[(["drug"], date(2027, 12, 31))])
    make_user(session, username="no_cert")
    make_user(
        session, username="retired", certificates=[(["food"], date(2027, 12, 31))], active=False
    )


def _submit(session: Session, team: list[str], inspected_on: str = "2026-03-02") -> dict[str, Any]:
    data = {"enforcement_field": "food", "inspected_on": inspected_on, "team": team}
    return validate_submission(session, TEAM_SCHEMA, data, now=START)


def _team_error(session: Session, team: list[str], inspected_on: str = "2026-03-02") -> str:
    with pytest.raises(InvalidTaskData) as caught:
        _submit(session, team, inspected_on)
    assert set(caught.value.field_errors) == {"team"}
    return caught.value.field_errors["team"]


def test_two_certified_inspectors_form_a_team(session: Session) -> None:
    assert _submit(session, ["food_a", "food_b"])["team"] == ["food_a", "food_b"]


def test_the_same_inspector_twice_is_not_a_team(session: Session) -> None:
    assert _team_error(session, ["food_a", "food_a"]) == "至少需要 2 名不同的执法人员"


def test_a_certificate_for_another_field_does_not_count(session: Session) -> None:
    assert _team_error(session, ["food_a", "drug_only"]).startswith("drug_only: ")


def test_an_inspector_without_a_certificate_is_named(session: Session) -> None:
    assert _team_error(session, ["no_cert", "food_a"]).startswith("no_cert: ")


def test_a_certificate_expired_on_the_inspection_date_does_not_count(session: Session) -> None:
    message = _team_error(session, ["food_a", "food_b"], inspected_on="2026-07-01")

    assert message == "food_b: 没有在 2026-07-01 有效且覆盖该执法领域的执法证"


def test_an_inactive_or_unknown_user_is_refused(session: Session) -> None:
    assert _team_error(session, ["food_a", "retired"]) == "retired: 用户不存在或已停用"
    assert _team_error(session, ["food_a", "ghost"]) == "ghost: 用户不存在或已停用"


PARTY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "party_credit_code": {"type": "string"},
        "team": {
            "type": "array",
            "items": {"type": "string"},
            "x-xietong-team": {"min": 2, "field": "food", "party": "=party_credit_code"},
        },
    },
}


def test_a_member_with_a_declared_conflict_must_recuse(session: Session) -> None:
    declare_conflict(session, username="food_b", credit_code="91350100M000100Y43", reason="亲属")
    data = {"party_credit_code": "91350100M000100Y43", "team": ["food_a", "food_b"]}
    with pytest.raises(InvalidTaskData) as caught:
        validate_submission(session, PARTY_SCHEMA, data, now=START)
    assert caught.value.field_errors["team"].startswith("food_b: 与当事人有利害关系, 应当回避")
    other_party = {"party_credit_code": "91350100M000100Y99", "team": ["food_a", "food_b"]}
    assert validate_submission(session, PARTY_SCHEMA, other_party, now=START)["team"]
