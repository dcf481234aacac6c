"""One-visit scheduling (综合查一次): dates on which every participating team is free,
and warnings when another agency inspects the same entity within 30 days.

Working days come from an injectable `is_working_day`; the default is Monday to Friday.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainRuleViolation
from engine.models import User
from engine.planning.inspectors import agency_officers
from engine.planning.inspectors import busy_days
from engine.planning.inspectors import certificate_for
from engine.planning.models import InspectionHistory

MERGE_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366
WorkingDayRule = Callable[[date], bool]


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


@dataclass(frozen=True)
class Proposal:
    dates: list[date]
    warnings: list[str] = field(default_factory=list)
    merge_candidates: list[dict[str, Any]] = field(default_factory=list)


def propose_dates(
    session: Session,
    *,
    agencies: Mapping[str, str | None],
    credit_codes: Iterable[str],
    window_start: date,
    window_end: date,
    teams: Mapping[str, Sequence[str]] | None = None,
    team_size: int = 2,
    is_working_day: WorkingDayRule = is_weekday,
) -> Proposal:
    """Working days in the window on which each agency can field its team.

    `agencies` maps org code to the enforcement field (None: any certificate). An agency
    named in `teams` needs all those officers free; otherwise `team_size` of its
    certified officers must be free (not declared unavailable, not on another team).

    Raises:
        DomainRuleViolation: an empty or over-long window.
    """
    days = _window(window_start, window_end, is_working_day)
    named = teams or {}
    rosters = {a: _roster(session, a, named.get(a), team_size, days) for a in agencies}
    free = [d for d in days if all(_team_free(rosters[a], f, d) for a, f in agencies.items())]
    warnings, merges = _nearby_inspections(
        session, set(credit_codes), set(agencies), window_start, window_end, set(free)
    )
    return Proposal(dates=free, warnings=warnings, merge_candidates=merges)


def _window(start: date, end: date, is_working_day: WorkingDayRule) -> list[date]:
    span = (end - start).days
    if span < 0:
        raise DomainRuleViolation("the scheduling window ends before it starts")
    if span > MAX_WINDOW_DAYS:
        raise DomainRuleViolation(f"the scheduling window exceeds {MAX_WINDOW_DAYS} days")
    return [d for d in (start + timedelta(n) for n in range(span + 1)) if is_working_day(d)]


@dataclass(frozen=True)
class _Roster:
    users: list[User]
    busy: dict[int, set[date]]
    needed: int


def _roster(
    session: Session, agency: str, team: Sequence[str] | None, team_size: int, days: list[date]
) -> _Roster:
    users = _team_users(session, team) if team else agency_officers(session, agency)
    busy = busy_days(session, [u.id for u in users], days[0], days[-1]) if days else {}
    return _Roster(users, busy, len(team) if team else team_size)


def _team_free(roster: _Roster, field_: str | None, day: date) -> bool:
    free = sum(
        1
        for u in roster.users
        if day not in roster.busy[u.id] and certificate_for(u, field_, day) is not None
    )
    return free >= roster.needed


def _team_users(session: Session, usernames: Sequence[str]) -> list[User]:
    return list(session.scalars(select(User).where(User.username.in_(list(usernames)))))


def _nearby_inspections(
    session: Session,
    codes: set[str],
    agencies: set[str],
    start: date,
    end: date,
    free: set[date],
) -> tuple[list[str], list[dict[str, Any]]]:
    margin = timedelta(days=MERGE_WINDOW_DAYS)
    stmt = (
        select(InspectionHistory)
        .where(InspectionHistory.credit_code.in_(sorted(codes)))
        .where(InspectionHistory.agency_code.not_in(sorted(agencies)))
        .where(InspectionHistory.day >= start - margin, InspectionHistory.day <= end + margin)
        .order_by(InspectionHistory.day, InspectionHistory.credit_code)
    )
    warnings: list[str] = []
    merges: list[dict[str, Any]] = []
    for row in session.scalars(stmt):
        when = row.day.isoformat()
        if row.day < start:
            warnings.append(
                f"{row.credit_code} was inspected by {row.agency_code} on {when}, within "
                f"{MERGE_WINDOW_DAYS} days: reuse its results instead of a new visit"
            )
            continue
        warnings.append(
            f"{row.credit_code} will be inspected by {row.agency_code} on {when}, within "
            f"{MERGE_WINDOW_DAYS} days: merge into one visit"
        )
        merges.append(
            {
                "credit_code": row.credit_code,
                "agency": row.agency_code,
                "day": when,
                "instance_id": row.instance_id,
                "day_available": row.day in free,
            }
        )
    return warnings, merges
