"""Bounds on the work SpiffWorkflow does for a model: timer horizons and multi-instance sizes.

SpiffWorkflow turns `"P99999999Y"` into a loop over every month of it, and a cardinality of a
million into a million child tasks, inside one call that no time budget reaches. So timer
values and multi-instance sizes are checked before SpiffWorkflow expands them: literal ones at
deploy (literal_problems), evaluated ones as the expression returns (evaluated_problem, called
by the script engine), and collections read from task data as the multi-instance task is
updated (guard_multi_instance, installed on each parsed spec).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from collections.abc import Sized
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException as SpiffDataError
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition as SpiffCycleTimer,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimeDateEventDefinition as SpiffDateTimer,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as SpiffTimer
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask as SpiffMultiInstance,
)

from engine.settings import Settings


@dataclass(frozen=True)
class WorkLimits:
    """How far ahead a timer may wait and how many children a multi-instance task may have."""

    timer_horizon_years: int = 10
    max_multi_instance: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> WorkLimits:
        return cls(settings.timer_horizon_years, settings.max_multi_instance)


def timer_definitions(task_spec: Any) -> Iterator[Any]:
    """The timer event definitions of a task spec (a multiple event may hold several)."""
    event = getattr(task_spec, "event_definition", None)
    for definition in [event, *getattr(event, "event_definitions", [])]:
        if isinstance(definition, SpiffTimer):
            yield definition


def _horizon_end(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year + years)
    except ValueError:  # 29 February
        return now.replace(year=now.year + years, day=28)


def _parsed_duration(text: str) -> dict[str, float]:
    try:
        parsed: dict[str, float] = SpiffTimer.parse_iso_duration(text)
    except Exception as exc:  # SpiffWorkflow raises a bare Exception for a bad duration
        raise ValueError(f"invalid ISO 8601 duration {text!r}") from exc
    if not parsed:
        raise ValueError(f"invalid ISO 8601 duration {text!r}")
    return parsed


def _duration_problem(text: str, now: datetime, years: int) -> str | None:
    parsed = _parsed_duration(text)
    end = _horizon_end(now, years)
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    seconds = (
        parsed.get("weeks", 0) * 604_800
        + parsed.get("days", 0) * 86_400
        + parsed.get("hours", 0) * 3_600
        + parsed.get("minutes", 0) * 60
        + parsed.get("seconds", 0)
    )
    beyond = f"timer duration {text!r} reaches beyond the {years}-year horizon"
    if months > years * 12 or seconds > (end - now).total_seconds():
        return beyond
    # Now bounded: SpiffWorkflow's own month-by-month arithmetic is cheap and exact.
    if now + SpiffTimer.get_timedelta_from_start(dict(parsed), now) > end:
        return beyond
    return None


def _date_problem(text: str, now: datetime, years: int) -> str | None:
    try:
        # As SpiffWorkflow reads it: a date-time or an ISO week date (a match failure there
        # surfaces as AttributeError).
        due = SpiffTimer.parse_time_or_duration(text)
    except (ValueError, AttributeError):
        due = None
    if not isinstance(due, datetime):
        return f"invalid ISO 8601 date-time {text!r}"
    if due > _horizon_end(now, years):
        return f"timer date {text!r} is beyond the {years}-year horizon"
    return None


def _cycle_problem(text: str, now: datetime, years: int) -> str | None:
    parts = text.upper().replace("--", "/").strip("R").split("/")
    if len(parts) not in (2, 3) or not (parts[0] == "" or parts[0].isdigit()):
        return f"invalid ISO 8601 repeating interval {text!r}"
    for part in parts[1:]:
        check = _duration_problem if part.startswith("P") else _date_problem
        problem = check(part, now, years)
        if problem:
            return problem
    return None


def timer_problem(definition: Any, value: Any, now: datetime, years: int) -> str | None:
    """Why a timer's value is refused (not ISO 8601, or beyond the horizon), or None."""
    if not isinstance(value, str):
        return f"a timer expression must give an ISO 8601 string, not {type(value).__name__}"
    try:
        if isinstance(definition, SpiffCycleTimer):
            return _cycle_problem(value, now, years)
        if isinstance(definition, SpiffDateTimer):
            return _date_problem(value, now, years)
        return _duration_problem(value, now, years)
    except ValueError as exc:
        return str(exc)


def cardinality_problem(value: Any, limit: int) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"multi-instance cardinality must be an integer, not {type(value).__name__}"
    if value > limit:
        return f"multi-instance cardinality {value} is more than the limit of {limit}"
    return None


def evaluated_problem(
    task_spec: Any, expression: str, value: Any, limits: WorkLimits, now: datetime
) -> str | None:
    """Why the value of a timer or cardinality expression of `task_spec` is refused, or None."""
    for definition in timer_definitions(task_spec):
        if definition.expression == expression:
            return timer_problem(definition, value, now, limits.timer_horizon_years)
    if isinstance(task_spec, SpiffMultiInstance) and task_spec.cardinality == expression:
        return cardinality_problem(value, limits.max_multi_instance)
    return None


def _literal(expression: Any) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(expression)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def literal_problems(spec: Any, limits: WorkLimits, now: datetime) -> Iterator[tuple[str, str]]:
    """(bpmn id, message) for every literal timer or cardinality of a spec that is refused."""
    for task_spec in spec.task_specs.values():
        bpmn_id = task_spec.bpmn_id or task_spec.name
        for definition in timer_definitions(task_spec):
            is_literal, value = _literal(definition.expression)
            problem = is_literal and timer_problem(
                definition, value, now, limits.timer_horizon_years
            )
            if problem:
                yield bpmn_id, f"timer: {problem}"
        cardinality = getattr(task_spec, "cardinality", None)
        if isinstance(task_spec, SpiffMultiInstance) and isinstance(cardinality, str):
            is_literal, value = _literal(cardinality)
            problem = is_literal and cardinality_problem(value, limits.max_multi_instance)
            if problem:
                yield bpmn_id, f"cardinality: {problem}"


def guard_multi_instance(task_spec: Any) -> None:
    """Check the input collection's size before the task spec creates a child per item.

    SpiffWorkflow reads the collection and expands it at once (`create_children`, or
    `init_remaining_items` when sequential) without calling the script engine; so that method
    of this (cached, never serialized) spec object is wrapped. The limit comes from the
    workflow's script engine, which each step sets.
    """
    if not isinstance(task_spec, SpiffMultiInstance) or task_spec.data_input is None:
        return
    name = (
        "init_remaining_items" if hasattr(task_spec, "init_remaining_items") else "create_children"
    )
    original = getattr(task_spec, name)

    def checked(my_task: Any) -> Any:
        limit = getattr(my_task.workflow.script_engine, "work_limits", WorkLimits())
        collection = task_spec.data_input.get(my_task)
        if isinstance(collection, Sized) and len(collection) > limit.max_multi_instance:
            raise SpiffDataError(
                f"multi-instance collection {task_spec.data_input.bpmn_id!r} has"
                f" {len(collection)} items, more than the limit of {limit.max_multi_instance}",
                my_task,
            )
        return original(my_task)

    setattr(task_spec, name, checked)
