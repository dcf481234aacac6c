"""web.labels has a Chinese label for every enum value and every engine error code."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from enum import StrEnum

import pytest

from engine import errors
from engine.cases.referrals import ReferralStage
from engine.models import InstanceStatus
from engine.models import OrgType
from engine.models import Role
from engine.models import TaskStatus
from engine.people import accounts
from web import filters
from web import labels

CHINESE = re.compile(r"[\u4e00-\u9fff]")

ENUM_LABELS: list[tuple[type[StrEnum], labels.Mapping[str, str]]] = [
    (OrgType, labels.ORG_TYPE_LABELS),
    (Role, labels.ROLE_LABELS),
    (InstanceStatus, labels.INSTANCE_STATUS_LABELS),
    (TaskStatus, labels.TASK_STATUS_LABELS),
    (InstanceStatus, labels.STATUS_LABELS),
    (TaskStatus, labels.STATUS_LABELS),
    (ReferralStage, labels.REFERRAL_STAGE_LABELS),
]


@pytest.mark.parametrize(("enum", "mapping"), ENUM_LABELS)
def test_every_enum_value_has_a_chinese_label(
    enum: type[StrEnum], mapping: labels.Mapping[str, str]
) -> None:
    for member in enum:
        assert CHINESE.search(mapping[member.value]), member


def _error_classes(base: type[errors.EngineError]) -> list[type[errors.EngineError]]:
    found = [base]
    for sub in base.__subclasses__():
        found.extend(_error_classes(sub))
    return found


def test_every_engine_error_code_has_a_chinese_message() -> None:
    # accounts defines its own login errors; importing it registers them as subclasses.
    assert accounts.AccountLocked.code in labels.ERROR_LABELS
    for error_class in _error_classes(errors.EngineError):
        assert CHINESE.search(labels.ERROR_LABELS[error_class.code]), error_class


def test_unknown_error_code_gets_the_generic_message() -> None:
    assert labels.error_label("no_such_code") == labels.GENERIC_ERROR


def test_label_falls_back_to_the_raw_value() -> None:
    assert labels.label(labels.ROLE_LABELS, "astronaut") == "astronaut"
    assert labels.label(labels.ROLE_LABELS, None) == ""
    assert labels.label(labels.ROLE_LABELS, Role.HEAD) == "负责人"


def test_localtime_shows_asia_shanghai() -> None:
    moment = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    assert filters.localtime(moment) == "2026-03-02 01:30"
    assert filters.localdate(moment) == "2026-03-02"
    assert filters.localtime(None) == ""


def test_label_filters_are_registered_under_their_template_names() -> None:
    assert filters.FILTERS["status_label"](InstanceStatus.WAITING) == "等待中"
    assert filters.FILTERS["status_label"](TaskStatus.OPEN) == "待办"
    assert filters.FILTERS["role_label"]("coordinator") == "协调监督人员"
    assert filters.FILTERS["field_label"]("work_safety") == "安全生产"
