"""Queries over the inspector registry: certified officers, busy days, declared conflicts.

An inspector is an active user with a Certificate (engine.models); a certificate counts on
a day when that day lies in its validity and it covers the enforcement field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Certificate
from engine.models import User
from engine.planning.models import InspectorAssignment
from engine.planning.models import InspectorConflict
from engine.planning.models import InspectorUnavailability


def agency_officers(session: Session, agency: str) -> list[User]:
    """Active users of `agency` holding at least one certificate, by username."""
    stmt = (
        select(User)
        .where(User.org_code == agency, User.active.is_(True))
        .where(User.certificates.any())
        .order_by(User.username)
    )
    return list(session.scalars(stmt))


def certificate_for(user: User, field: str | None, day: date) -> Certificate | None:
    """The user's certificate valid on `day` covering `field` (any field when None).

    When several qualify, the one valid longest wins (then the lowest number), so the
    choice is deterministic.
    """
    usable = [
        c
        for c in user.certificates
        if (c.valid_from is None or c.valid_from <= day)
        and c.valid_until >= day
        and (field is None or field in c.fields)
    ]
    usable.sort(key=lambda c: (-c.valid_until.toordinal(), c.number))
    return usable[0] if usable else None


def busy_days(
    session: Session, user_ids: Iterable[int], start: date, end: date
) -> dict[int, set[date]]:
    """Days in [start, end] each user declared unavailable or is on another team."""
    ids = list(user_ids)
    busy: dict[int, set[date]] = {user_id: set() for user_id in ids}
    for table in (InspectorUnavailability, InspectorAssignment):
        stmt = select(table.user_id, table.day).where(
            table.user_id.in_(ids), table.day >= start, table.day <= end
        )
        for user_id, day in session.execute(stmt):
            busy[user_id].add(day)
    return busy


def conflicts_of(
    session: Session, user_ids: Iterable[int], credit_codes: Iterable[str]
) -> dict[int, list[str]]:
    """Declared conflicts of each user among `credit_codes`, sorted."""
    ids = list(user_ids)
    found: dict[int, list[str]] = {user_id: [] for user_id in ids}
    stmt = (
        select(InspectorConflict.user_id, InspectorConflict.credit_code)
        .where(InspectorConflict.user_id.in_(ids))
        .where(InspectorConflict.credit_code.in_(list(credit_codes)))
        .order_by(InspectorConflict.credit_code)
    )
    for user_id, code in session.execute(stmt):
        found[user_id].append(code)
    return found
