"""SCRIPT_API date helpers: months_after keeps the legal-time date and hour, clamps month ends."""

from __future__ import annotations

import pytest

from engine.execution.script_api import SCRIPT_API
from engine.execution.script_api import months_after


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        # Transferred Mon 2026-03-23 10:00 Beijing time: follow up on 06-23 10:00.
        ("2026-03-23T10:00:00+08:00", 3, "2026-06-23T02:00:00+00:00"),
        # The legal date counts: 03-30 17:00 UTC is 03-31 01:00 in Beijing, so the clamped
        # 06-30 01:00 Beijing time (counting in UTC would give 06-30 17:00 UTC).
        ("2026-03-30T17:00:00+00:00", 3, "2026-06-29T17:00:00+00:00"),
        # No 31 June: the last day of the month.
        ("2026-03-31T10:00:00+08:00", 3, "2026-06-30T02:00:00+00:00"),
        ("2025-11-30T09:00:00+08:00", 3, "2026-02-28T01:00:00+00:00"),
    ],
)
def test_months_after_counts_calendar_months_in_legal_time(
    start: str, months: int, expected: str
) -> None:
    assert months_after(start, months) == expected


def test_months_after_refuses_a_timestamp_without_time_zone() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        months_after("2026-03-23T10:00:00", 3)


def test_months_after_is_callable_from_bpmn() -> None:
    assert SCRIPT_API["months_after"] is months_after
