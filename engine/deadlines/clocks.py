"""Case clocks: pausable periods (CaseClock) and the `clock_*` element properties applied to them.

A process declares its clocks in process.json (`"clocks": {"case_90": {"value": 90, "unit":
"cd", "basis": ..., "evidence": ...}}`); an element whose properties name a clock in
`clock_start`, `clock_pause`, `clock_resume` or `clock_stop` (comma-separated ids) acts on it
when it completes. The instance keeps its clocks as JSON: clock id → `CaseClock.to_dict()`.
Everything here is pure; the runner stores the returned dict.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from enum import StrEnum
from typing import Any

from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.rules import LEGAL_TZ
from engine.deadlines.rules import Deadline
from engine.deadlines.rules import Rule
from engine.deadlines.rules import Unit
from engine.deadlines.rules import checked_start
from engine.deadlines.rules import day_deadline
from engine.deadlines.rules import hour_deadline
from engine.deadlines.rules import parse_aware
from engine.deadlines.rules import parse_rule
from engine.deadlines.rules import parse_unit
from engine.errors import Conflict
from engine.errors import EngineError
from engine.errors import NotFound


class ClockStatus(StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Pause:
    """One 中止 interval of a clock; `resumed_at` is None while it lasts."""

    paused_at: datetime
    resumed_at: datetime | None = None


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment_or_none(value: object) -> datetime | None:
    if value is None:
        return None
    moment = parse_aware(value)
    if moment is None:
        raise ValueError(f"clock timestamps must be aware ISO 8601, got {value!r}")
    return moment.astimezone(UTC)


def _midnights_between(first: datetime, second: datetime) -> list[date]:
    """Local dates whose 00:00 (Asia/Shanghai) falls in (first, second]."""
    begin = first.astimezone(LEGAL_TZ).date()
    end = second.astimezone(LEGAL_TZ).date()
    return [begin + timedelta(days=offset) for offset in range(1, (end - begin).days + 1)]


def _pause_from_pair(pair: list[str | None]) -> Pause:
    paused_at = _moment_or_none(pair[0])
    if paused_at is None:
        raise ValueError("a clock pause needs its start timestamp")
    return Pause(paused_at, _moment_or_none(pair[1]))


@dataclass(frozen=True)
class CaseClock:
    """A period spanning several tasks that can be paused (中止) and resumed.

    Paused time does not count: for `h` the due moment moves by the paused duration; for
    `cd`/`mo` by the number of days entered while paused (local midnights inside the pause);
    for `wd` by the number of working days entered while paused. A pause begun and ended on
    the same local day therefore moves a day-unit deadline by nothing. While paused, or before
    it starts, a clock has no due moment. Every method returns a new clock.
    """

    id: str
    rule: Rule
    started_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    stopped_at: datetime | None = None
    basis: str | None = None
    evidence: str | None = None

    @property
    def status(self) -> ClockStatus:
        if self.started_at is None:
            return ClockStatus.NOT_STARTED
        if self.stopped_at is not None:
            return ClockStatus.STOPPED
        if self.pauses and self.pauses[-1].resumed_at is None:
            return ClockStatus.PAUSED
        return ClockStatus.RUNNING

    def _last_event(self) -> datetime | None:
        moments = [self.started_at] + [m for p in self.pauses for m in (p.paused_at, p.resumed_at)]
        return max((m for m in moments if m is not None), default=None)

    def _checked(self, at: datetime, allowed: tuple[ClockStatus, ...], action: str) -> datetime:
        if self.status not in allowed:
            raise Conflict(f"clock {self.id} cannot {action} while {self.status}")
        moment = checked_start(at)
        last = self._last_event()
        if last is not None and moment < last:
            raise ValueError(f"clock {self.id}: {action} at {moment} is before {last}")
        return moment

    def start(self, at: datetime) -> CaseClock:
        """Raises: Conflict if the clock has started already."""
        return replace(self, started_at=self._checked(at, (ClockStatus.NOT_STARTED,), "start"))

    def pause(self, at: datetime) -> CaseClock:
        """Raises: Conflict unless the clock is running."""
        moment = self._checked(at, (ClockStatus.RUNNING,), "pause")
        return replace(self, pauses=(*self.pauses, Pause(moment)))

    def resume(self, at: datetime) -> CaseClock:
        """Raises: Conflict unless the clock is paused."""
        moment = self._checked(at, (ClockStatus.PAUSED,), "resume")
        return replace(self, pauses=(*self.pauses[:-1], Pause(self.pauses[-1].paused_at, moment)))

    def stop(self, at: datetime) -> CaseClock:
        """Stop for good; a pause still open ends at the same moment.

        Raises: Conflict unless the clock is running or paused.
        """
        moment = self._checked(at, (ClockStatus.RUNNING, ClockStatus.PAUSED), "stop")
        clock = self.resume(moment) if self.status == ClockStatus.PAUSED else self
        return replace(clock, stopped_at=moment)

    def _paused_days(self, calendar: WorkCalendar) -> int:
        days = [
            day
            for pause in self.pauses
            if pause.resumed_at is not None
            for day in _midnights_between(pause.paused_at, pause.resumed_at)
        ]
        if self.rule.unit == Unit.WD:
            return sum(1 for day in days if calendar.is_working_day(day))
        return len(days)

    def _paused_time(self) -> timedelta:
        return sum(
            (p.resumed_at - p.paused_at for p in self.pauses if p.resumed_at is not None),
            timedelta(0),
        )

    def due(self, calendar: WorkCalendar) -> Deadline | None:
        """The deadline with paused time excluded; None before start and while paused."""
        if self.started_at is None or self.status == ClockStatus.PAUSED:
            return None
        if self.rule.unit == Unit.H:
            deadline = hour_deadline(self.started_at, self.rule, self._paused_time())
        else:
            deadline = day_deadline(
                self.started_at, self.rule, calendar, self._paused_days(calendar)
            )
        return replace(deadline, basis=self.basis, evidence=self.evidence, deadline_id=self.id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (UTC ISO timestamps); `from_dict` reads it back."""
        return {
            "id": self.id,
            "rule": str(self.rule),
            "started_at": _iso_or_none(self.started_at),
            "pauses": [
                [_iso_or_none(p.paused_at), _iso_or_none(p.resumed_at)] for p in self.pauses
            ],
            "stopped_at": _iso_or_none(self.stopped_at),
            "basis": self.basis,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseClock:
        """Raises: ValueError on a malformed rule or timestamp."""
        pauses = tuple(_pause_from_pair(pair) for pair in data.get("pauses", []))
        return cls(
            id=data["id"],
            rule=parse_rule(data["rule"]),
            started_at=_moment_or_none(data.get("started_at")),
            pauses=pauses,
            stopped_at=_moment_or_none(data.get("stopped_at")),
            basis=data.get("basis"),
            evidence=data.get("evidence"),
        )

    @classmethod
    def define(cls, clock_id: str, spec: Mapping[str, Any]) -> CaseClock:
        """A not-yet-started clock from a process.json `clocks` entry (value, unit, basis...).

        Raises: ValueError on a bad value or unit.
        """
        return cls(
            id=clock_id,
            rule=Rule(spec["value"], parse_unit(spec["unit"])),
            basis=spec.get("basis"),
            evidence=spec.get("evidence"),
        )


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
