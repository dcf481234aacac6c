"""Timer values and multi-instance sizes are judged without SpiffWorkflow expanding them."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition

from engine.execution.bounds import cardinality_problem
from engine.execution.bounds import timer_problem
from engine.settings import load_settings

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
DURATION = DurationTimerEventDefinition("duration", "x")
DATE = TimeDateEventDefinition("date", "x")
CYCLE = CycleTimerEventDefinition("cycle", "x")
BEYOND = "beyond the 10-year horizon"


@pytest.mark.parametrize(
    ("definition", "value", "expected"),
    [
        (DURATION, "PT24H", None),
        (DURATION, "P10Y", None),
        (DURATION, "P120M", None),
        (DURATION, "P10YT1S", BEYOND),
        (DURATION, "P99999999Y", BEYOND),
        (DURATION, "P99999999999D", BEYOND),
        (DURATION, "PT99999999999H", BEYOND),
        (DURATION, "P2W", None),
        (DURATION, "P1X", "invalid ISO 8601 duration 'P1X'"),
        (DURATION, 30, "must give an ISO 8601 string, not int"),
        (DATE, "2027-01-01T00:00:00+00:00", None),
        (DATE, "2036-12-04T08:00:00+00:00", None),
        (DATE, "2036-12-04T08:00:01+00:00", BEYOND),
        (DATE, "9999-01-01T00:00:00Z", BEYOND),
        (DATE, "P1D", "invalid ISO 8601 date-time 'P1D'"),
        (CYCLE, "R3/PT1H", None),
        (CYCLE, "R/P1D", None),
        (CYCLE, "R5/P11Y", BEYOND),
        (CYCLE, "R3/9999-01-01T00:00:00Z/PT1H", BEYOND),
        (CYCLE, "R3", "invalid ISO 8601 repeating interval 'R3'"),
    ],
)
def test_timer_values_are_judged_against_the_horizon(
    definition: object, value: object, expected: str | None
) -> None:
    problem = timer_problem(definition, value, NOW, 10)

    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


def test_a_huge_duration_is_judged_at_once() -> None:
    # SpiffWorkflow adds up every month of 'P99999999Y' in a Python loop (100+ s of CPU).
    assert timer_problem(DURATION, "P99999999Y", NOW, 10) == (
        "timer duration 'P99999999Y' reaches beyond the 10-year horizon"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1000, None),
        (0, None),
        (1001, "multi-instance cardinality 1001 is more than the limit of 1000"),
        (True, "must be an integer, not bool"),
        (2.0, "must be an integer, not float"),
    ],
)
def test_cardinality_is_an_integer_within_the_limit(value: object, expected: str | None) -> None:
    problem = cardinality_problem(value, 1000)

    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


def test_the_limits_are_read_from_the_environment() -> None:
    settings = load_settings(
        {
            "XIETONG_TIMER_HORIZON_YEARS": "5",
            "XIETONG_MAX_MULTI_INSTANCE": "50",
            "XIETONG_STEP_TIME_BUDGET": "12.5",
            "XIETONG_SCRIPT_ISOLATION": "all",
            "XIETONG_SCRIPT_MEMORY_MB": "256",
        }
    )

    assert (
        settings.timer_horizon_years,
        settings.max_multi_instance,
        settings.step_time_budget_seconds,
        settings.script_isolation,
        settings.script_memory_mb,
    ) == (5, 50, 12.5, "all", 256)


def test_a_mistyped_isolation_mode_is_refused_instead_of_turning_isolation_off() -> None:
    with pytest.raises(ValueError, match="'yes' is not one of uploaded, all, none"):
        load_settings({"XIETONG_SCRIPT_ISOLATION": "yes"})
