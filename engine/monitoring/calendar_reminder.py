"""Reminder that next year's holiday data is missing: one bell notification per user and year.

From 1 November (Beijing date), when next year has no national data (neither the
chinese_calendar package nor national overrides) or no Xinjiang overrides, every active
coordinator and administrator gets the notification 「2027年节假日安排尚未录入」 once: its
topic `calendar_missing:<year>` is UNIQUE per user, so the job can run as often as it likes
and a user created later still gets it on the next run. The web layer shows the same fact as a
banner on every page (`engine.deadlines.notices.missing_next_year`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.deadlines.notices import MissingData
from engine.deadlines.notices import missing_next_year
from engine.deadlines.rules import LEGAL_TZ
from engine.models import Role
from engine.models import User
from engine.monitoring import notifications
from engine.settings import Settings

logger = logging.getLogger(__name__)

REMINDED_ROLES = (Role.COORDINATOR, Role.ADMIN)
INTERVAL_SECONDS = 3600
TOPIC = "calendar_missing:{year}"
TITLE = "{year}年节假日安排尚未录入"
_SOURCES = {"national": "国务院办公厅放假通知", "xinjiang": "新疆维吾尔自治区放假通知"}
BODY = (
    "{year}年尚未录入{sources}。录入前，跨入{year}年的法定期限按周一至周五计算并附警示；"  # noqa: RUF001
    "请管理员在「节假日调整」页面按通知一次录入放假和调休安排，录入后未办结待办的期限自动重算。"  # noqa: RUF001
)


def reminder_text(missing: MissingData) -> tuple[str, str]:
    """Title and body of the reminder for one missing year."""
    sources = [_SOURCES["national"]] if missing.national else []
    sources += [_SOURCES["xinjiang"]] if missing.xinjiang else []
    return TITLE.format(year=missing.year), BODY.format(
        year=missing.year, sources="和".join(sources)
    )


def remind_missing_calendar(session: Session, now: datetime) -> int:
    """Notify coordinators and admins who were not told yet; returns how many were notified."""
    missing = missing_next_year(session, now.astimezone(LEGAL_TZ).date())
    if missing is None:
        return 0
    user_ids = session.scalars(
        select(User.id).where(User.active.is_(True), User.role.in_(REMINDED_ROLES))
    )
    title, body = reminder_text(missing)
    new_ids = notifications.notify_topic(
        session,
        user_ids=list(user_ids),
        topic=TOPIC.format(year=missing.year),
        title=title,
        body=body,
        now=now,
    )
    if new_ids:
        logger.info("reminded %d users that %d holiday data is missing", len(new_ids), missing.year)
    return len(new_ids)


def remind_job(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """The scheduler job: `remind_missing_calendar` in its own transaction."""
    with factory.begin() as session:
        return remind_missing_calendar(session, now)
