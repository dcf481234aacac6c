"""Deadlines of human tasks as the runner creates them: calendar loaded once per step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.deadlines import calendar as work_calendar
from engine.deadlines import rules as deadlines
from engine.deadlines.clocks import clock_due
from engine.settings import Settings


class DeadlineService:
    """Computes task deadlines; loads the holiday calendar only when a task declares one."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._calendar: Any = None

    def calendar(self) -> Any:
        if self._calendar is None:
            self._calendar = work_calendar.load_calendar(self.session)
        return self._calendar

    def for_task(
        self,
        properties: Mapping[str, str],
        *,
        ready_at: datetime,
        data: Mapping[str, Any],
        clocks: Mapping[str, Any] | None = None,
    ) -> Any:
        if not any(k.startswith("deadline_") for k in properties):
            return None
        clock_id = properties.get("deadline_clock")
        if clock_id:
            return self._clock_deadline(properties, clocks or {}, clock_id)
        return deadlines.deadline_for_task(
            dict(properties),
            ready_at=ready_at,
            data=data,
            calendar=self.calendar(),
            settings=self.settings,
        )

    def recompute(
        self,
        properties: Mapping[str, str],
        stored: Mapping[str, Any],
        clocks: Mapping[str, Any] | None = None,
    ) -> Any:
        """An open task's deadline again, on today's calendar, from its stored explanation.

        The start and rule stay those computed when the task became ready (a later change of
        a unit setting does not move it); a missing-trigger warning is kept, fallback-year
        warnings are recomputed.

        Raises:
            ValueError: a stored explanation without a valid start or rule.
        """
        clock_id = properties.get("deadline_clock")
        if clock_id:
            return self._clock_deadline(properties, clocks or {}, clock_id)
        start = deadlines.parse_aware(stored.get("start"))
        if start is None:
            raise ValueError("stored deadline has no aware start")
        fresh = deadlines.compute_deadline(
            start,
            deadlines.parse_rule(str(stored.get("rule"))),
            self.calendar(),
            basis=stored.get("basis"),
            evidence=stored.get("evidence"),
            deadline_id=stored.get("deadline_id"),
        )
        kept = [w for w in stored.get("warnings", []) if not deadlines.is_fallback_warning(w)]
        return replace(fresh, warnings=kept + fresh.warnings)

    def _clock_deadline(
        self, properties: Mapping[str, str], clocks: Mapping[str, Any], clock_id: str
    ) -> Any:
        """The clock's due moment, labelled with the task's own deadline id and basis."""
        deadline = clock_due(clocks, clock_id, self.calendar())
        if deadline is None:
            return None
        return replace(
            deadline,
            deadline_id=properties.get("deadline_id") or deadline.deadline_id,
            basis=properties.get("deadline_basis") or deadline.basis,
            evidence=properties.get("deadline_evidence") or deadline.evidence,
        )
