"""Case clocks of an instance: the `clock_*` element properties applied to ProcessInstance.clocks.

A process declares its clocks in process.json (`"clocks": {"case_90": {"value": 90, "unit":
"cd", "basis": ..., "evidence": ...}}`); an element whose properties name a clock in
`clock_start`, `clock_pause`, `clock_resume` or `clock_stop` (comma-separated ids) acts on it
when it completes. The instance keeps its clocks as JSON: clock id → `CaseClock.to_dict()`.
Everything here is pure; the runner stores the returned dict.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.calendar import WorkCalendar
from engine.deadlines import CaseClock
from engine.deadlines import Deadline
from engine.errors import EngineError
from engine.errors import NotFound

# Applied in this order when one element carries several actions.
CLOCK_ACTIONS: tuple[tuple[str, Callable[[CaseClock, datetime], CaseClock]], ...] = (
    ("clock_start", CaseClock.start),
    ("clock_pause", CaseClock.pause),
    ("clock_resume", CaseClock.resume),
    ("clock_stop", CaseClock.stop),
)


def clock_ids(value: str | None) -> list[str]:
    """The clock ids of one comma-separated property value."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _clock(clocks: Mapping[str, Any], manifest: Mapping[str, Any], clock_id: str) -> CaseClock:
    stored = clocks.get(clock_id)
    try:
        if stored is not None:
            return CaseClock.from_dict(stored)
        spec = (manifest.get("clocks") or {}).get(clock_id)
        if spec is None:
            raise NotFound(f"clock {clock_id!r} is not declared in process.json clocks")
        return CaseClock.define(clock_id, spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise EngineError(f"clock {clock_id!r} is malformed: {exc}") from exc


def apply_clock_actions(
    clocks: Mapping[str, Any],
    properties: Mapping[str, str],
    manifest: Mapping[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """The instance's clocks after an element with these properties completed at `at`.

    Returns a new JSON-able dict (clock id → CaseClock.to_dict()); `clocks` is not changed.

    Raises:
        NotFound: a property names a clock that process.json does not declare.
        Conflict: an action the clock's state forbids (start twice, resume a running clock).
        EngineError: a malformed clock declaration or stored clock.
    """
    result = {key: dict(value) for key, value in clocks.items()}
    for prop, action in CLOCK_ACTIONS:
        for clock_id in clock_ids(properties.get(prop)):
            try:
                clock = action(_clock(result, manifest, clock_id), at)
            except ValueError as exc:
                raise EngineError(f"clock {clock_id!r}: {exc}") from exc
            result[clock_id] = clock.to_dict()
    return result


def clock_due(clocks: Mapping[str, Any], clock_id: str, calendar: WorkCalendar) -> Deadline | None:
    """The current deadline of one clock; None when absent, not started or paused.

    Raises:
        EngineError: the stored clock is malformed.
    """
    stored = clocks.get(clock_id)
    if stored is None:
        return None
    try:
        clock = CaseClock.from_dict(stored)
    except (KeyError, TypeError, ValueError) as exc:
        raise EngineError(f"clock {clock_id!r} is malformed: {exc}") from exc
    return clock.due(calendar)
