"""The banner 「2027年节假日安排尚未录入」 on every page for coordinators and administrators.

From 1 November (Beijing date), while next year lacks national or Xinjiang holiday data
(engine.deadlines.notices.missing_next_year), base.html shows the banner; administrators get a
link to the calendar page of that year. The scheduler's reminder job sends the same fact once
to each user's bell.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from flask import Flask
from flask import g

from engine.deadlines.notices import MissingData
from engine.deadlines.notices import missing_next_year
from engine.models import Role
from engine.models import User
from web.filters import LOCAL_TZ
from web.session import get_session

BANNER_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN})


def today() -> date:
    """The legal date now; tests replace it to stand on 1 November."""
    return datetime.now(LOCAL_TZ).date()


def _missing_calendar() -> MissingData | None:
    user: User | None = g.get("user")
    if user is None or user.role not in BANNER_ROLES:
        return None
    if "missing_calendar" not in g:
        g.missing_calendar = missing_next_year(get_session(), today())
    found: MissingData | None = g.missing_calendar
    return found


def _context() -> dict[str, object]:
    return {"missing_calendar": _missing_calendar()}


def init_app(app: Flask) -> None:
    app.context_processor(_context)
