"""Form validation: every bad field is named, stamps are engine-set, org codes are looked up.

Only the organization checks use the database; the rest run without one.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any
from typing import cast

import pytest
from sqlalchemy.orm import Session

from engine.cases.forms import validate_submission
from engine.errors import InvalidTaskData
from engine.models import OrgType
from tests.factories import make_org

NOW = datetime(2026, 3, 2, 1, 30, 45, tzinfo=UTC)
NO_DATABASE = cast(Session, None)

SCHEMA: dict[str, Any] = {
    "title": "审批",
    "type": "object",
    "required": ["decision", "days", "found_on"],
    "properties": {
        "decision": {
            "title": "决定",
            "oneOf": [
                {"const": "approve", "title": "批准"},
                {"const": "reject", "title": "不批准"},
            ],
        },
        "days": {"type": "integer", "minimum": 1, "title": "天数"},
        "found_on": {"type": "string", "format": "date", "title": "发现日期"},
        "reason": {"type": "string", "minLength": 1, "title": "理由"},
        "decided_at": {
            "type": "string",
            "format": "date-time",
            "x-xietong-stamp": True,
            "title": "决定时间",
        },
    },
    "if": {"required": ["decision"], "properties": {"decision": {"const": "reject"}}},
    "then": {"required": ["reason"]},
}


def _errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidTaskData) as caught:
        validate_submission(NO_DATABASE, SCHEMA, data, now=NOW)
    return caught.value.field_errors


def test_valid_data_passes_with_the_stamp_set_by_the_engine() -> None:
    cleaned = validate_submission(
        NO_DATABASE, SCHEMA, {"decision": "approve", "days": 3, "found_on": "2026-03-01"}, now=NOW
    )

    assert cleaned == {
        "decision": "approve",
        "days": 3,
        "found_on": "2026-03-01",
        "decided_at": "2026-03-02T09:30:00+08:00",
    }


def test_a_submitted_stamp_is_overwritten() -> None:
    cleaned = validate_submission(
        NO_DATABASE,
        SCHEMA,
        {
            "decision": "approve",
            "days": 3,
            "found_on": "2026-03-01",
            "decided_at": "2020-01-01T00:00:00+08:00",
        },
        now=NOW,
    )

    assert cleaned["decided_at"] == "2026-03-02T09:30:00+08:00"


def test_every_bad_field_is_named() -> None:
    errors = _errors({"decision": "maybe", "days": 0, "found_on": "03/01/2026"})

    assert set(errors) == {"decision", "days", "found_on"}
    assert errors["days"] == "不能小于 1"
    assert errors["found_on"].startswith("格式不正确")


def test_missing_required_fields_are_named() -> None:
    assert set(_errors({})) == {"decision", "days", "found_on"}


def test_a_conditional_requirement_names_the_field() -> None:
    assert _errors({"decision": "reject", "days": 2, "found_on": "2026-03-01"}) == {
        "reason": "必填"
    }


def test_unknown_fields_are_refused_so_routing_data_cannot_be_overwritten() -> None:
    errors = _errors(
        {"decision": "approve", "days": 1, "found_on": "2026-03-01", "agency_org": "X"}
    )

    assert errors == {"agency_org": "表单中没有这个字段"}


def test_a_field_shadowing_a_script_helper_is_refused() -> None:
    schema = {"type": "object", "properties": {"now_utc": {"type": "string"}}}

    with pytest.raises(InvalidTaskData) as caught:
        validate_submission(NO_DATABASE, schema, {"now_utc": "x"}, now=NOW)

    assert caught.value.field_errors == {"now_utc": "字段名与系统函数同名"}


ORG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "lead_org": {
            "type": "string",
            "x-xietong-widget": "org",
            "x-xietong-org-types": ["agency"],
        },
        "township_org": {"type": "string", "x-xietong-widget": "org"},
        "participants": {
            "type": "object",
            "x-xietong-key": "org",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "org": {
                        "type": "string",
                        "x-xietong-widget": "org",
                        "x-xietong-org-types": ["agency"],
                    },
                    "field": {"type": "string"},
                },
            },
        },
        "note": {"type": "string"},
    },
}


def _org_submission(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    return validate_submission(session, ORG_SCHEMA, data, now=NOW)


def _org_errors(session: Session, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidTaskData) as caught:
        _org_submission(session, data)
    return caught.value.field_errors


def test_org_fields_accept_active_organizations_of_the_allowed_types(session: Session) -> None:
    make_org(session, code="YJS-A", name="甲局")
    make_org(session, code="TWP-B", org_type=OrgType.TOWNSHIP, name="乙镇")
    data = {
        "lead_org": "YJS-A",
        "township_org": "TWP-B",
        "participants": {"YJS-A": {"org": "YJS-A", "field": "health"}},
    }

    assert _org_submission(session, data) == data


def test_unknown_inactive_or_wrong_type_organizations_are_named(session: Session) -> None:
    make_org(session, code="TWP-B", org_type=OrgType.TOWNSHIP, name="乙镇")
    make_org(session, code="YJS-OLD", name="已撤销局").active = False
    session.flush()
    data = {
        "lead_org": "TWP-B",
        "township_org": "YJS-NONE",
        "participants": {"YJS-OLD": {"org": "YJS-OLD", "field": "health"}},
    }

    assert _org_errors(session, data) == {
        "lead_org": "没有这个机构",
        "township_org": "没有这个机构",
        "participants.YJS-OLD.org": "没有这个机构",
    }


def test_a_form_without_org_values_never_queries() -> None:
    assert _org_submission(NO_DATABASE, {"note": "无机构"}) == {"note": "无机构"}


def test_nul_characters_are_a_field_error() -> None:
    errors = _errors(
        {"decision": "approve", "days": 1, "found_on": "2026-03-01", "reason": "a\x00"}
    )
    assert errors == {"reason": "不能包含控制字符 NUL"}


@pytest.mark.parametrize(
    ("text", "message"),
    [("a\uffff", "含有 Unicode 非字符(如 U+FFFF)"), ("\ud800", "含有无效的 Unicode 字符")],
)
def test_noncharacters_and_lone_surrogates_are_a_field_error(text: str, message: str) -> None:
    errors = _errors({"decision": "approve", "days": 1, "found_on": "2026-03-01", "reason": text})
    assert errors == {"reason": message}
