"""Notifications: the in-app bell and e-mail for deadline and stall flags.

A notification is one message to one user about one flag at one escalation level
(0 handler, 1 head of the organization, 2 justice-bureau coordinator). The table's
UNIQUE (user_id, flag_id, level) is the backstop against duplicates: `notify` inserts with
"on conflict do nothing", so two schedulers racing on the same flag still create one row.
A notification about no flag (next year's holiday data is missing) has a `topic` instead,
e.g. `calendar_missing:2027`, UNIQUE per user: `notify_topic` sends it once per user.

E-mail: when `settings.smtp_host` is set, `send_pending_emails` (a scheduler job) mails every
notification not mailed yet to users with an address. A row is claimed (emailed_at set) in its
own transaction before the SMTP call, so two schedulers never mail it twice; a failed send is
logged, unclaimed and retried on later runs, at most MAX_EMAIL_ATTEMPTS times.

For the web bell:
- `unread_count(session, user)` → int, the number on the bell;
- `list_notifications(session, user, limit=50)` → newest first, read ones included;
- `mark_read(session, user, notification_id)` → the notification, read_at set (idempotent).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import sessionmaker

from engine import paging
from engine.db import Base
from engine.errors import NotFound
from engine.models import User
from engine.models import UTCDateTime
from engine.settings import Settings

logger = logging.getLogger(__name__)

MAX_EMAIL_ATTEMPTS = 3
SMTP_TIMEOUT_SECONDS = 10
EMAIL_BATCH = 200


class Notification(Base):
    """One message to one user about one flag at one escalation level."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "flag_id", "level"),
        UniqueConstraint("user_id", "topic"),
        Index("ix_notification_list", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("flag.id"), index=True)
    topic: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)


def insert_new(
    session: Session, model: type[Base], rows: list[dict[str, Any]], conflict_on: list[str]
) -> list[int]:
    """Insert rows, silently skipping those that hit the unique columns `conflict_on`.

    Returns the ids of the rows actually inserted. Safe under concurrency on PostgreSQL and
    SQLite: a row a concurrent transaction inserted first is skipped, not an error.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Any = model.__table__
    statement = (
        insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=conflict_on)
        .returning(table.c.id)
    )
    return list(session.scalars(statement))


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    flag_id: int,
    level: int,
    title: str,
    body: str,
    now: datetime,
) -> list[int]:
    """Create the notifications of one flag level for these users; returns the new ids."""
    rows = [
        {
            "user_id": user_id,
            "flag_id": flag_id,
            "level": level,
            "title": title,
            "body": body,
            "created_at": now,
            "email_attempts": 0,
        }
        for user_id in sorted(set(user_ids))
    ]
    return insert_new(session, Notification, rows, ["user_id", "flag_id", "level"])


def notify_topic(
    session: Session, *, user_ids: Iterable[int], topic: str, title: str, body: str, now: datetime
) -> list[int]:
    """Notify these users about a topic that is no flag, once per user; returns the new ids."""
    rows = [
        {
            "user_id": user_id,
            "flag_id": None,
            "topic": topic,
            "level": 0,
            "title": title,
            "body": body,
            "created_at": now,
            "email_attempts": 0,
        }
        for user_id in sorted(set(user_ids))
    ]
    return insert_new(session, Notification, rows, ["user_id", "topic"])


def unread_count(session: Session, user: User) -> int:
    """How many notifications of the user are unread (the number on the bell)."""
    return int(
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def notification_page(
    session: Session, user: User, *, after: str | None = None, size: int = paging.PAGE_SIZE
) -> paging.Page[Notification]:
    """One page of the user's notifications, newest first (read ones included).

    Raises:
        InvalidCursor: `after` is not a cursor of this list.
    """
    cursor = paging.decode(after)
    query = select(Notification).where(Notification.user_id == user.id)
    if cursor is not None:
        query = query.where(
            paging.after_descending(Notification.created_at, Notification.id, cursor)
        )
    order = (Notification.created_at.desc(), Notification.id.desc())
    rows = list(session.scalars(query.order_by(*order).limit(size + 1)))
    return paging.page_of(rows, size, lambda n: paging.Cursor(n.created_at, n.id))


def list_notifications(session: Session, user: User, *, limit: int = 50) -> list[Notification]:
    """The user's newest notifications (read ones included)."""
    return notification_page(session, user, size=limit).items


def mark_all_read(session: Session, user: User, *, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read in one UPDATE; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now or datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    count: int = result.rowcount  # type: ignore[attr-defined]
    return count


def mark_read(
    session: Session, user: User, notification_id: int, *, now: datetime | None = None
) -> Notification:
    """Mark one of the user's notifications read; reading it again changes nothing.

    Raises:
        NotFound: no such notification, or it belongs to another user.
    """
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound(f"notification {notification_id} not found")
    if notification.read_at is None:
        notification.read_at = now or datetime.now(UTC)
        session.flush()
    return notification


def _pending_email_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(
                Notification.emailed_at.is_(None),
                Notification.email_attempts < MAX_EMAIL_ATTEMPTS,
                User.email.is_not(None),
                User.email != "",
                User.active.is_(True),
            )
            .order_by(Notification.id)
            .limit(EMAIL_BATCH)
        )
    )


def _claim(
    factory: sessionmaker[Session], notification_id: int, now: datetime
) -> EmailMessage | None:
    """Mark the notification as being mailed; None when another worker claimed it first."""
    with factory.begin() as session:
        claimed = session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.emailed_at.is_(None))
            .values(emailed_at=now, email_attempts=Notification.email_attempts + 1)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = session.execute(
            select(Notification.title, Notification.body, User.email)
            .join(User, User.id == Notification.user_id)
            .where(Notification.id == notification_id)
        ).one()
    message = EmailMessage()
    message["Subject"] = row.title
    message["To"] = row.email
    message.set_content(row.body)
    return message


def _unclaim(factory: sessionmaker[Session], notification_id: int) -> None:
    with factory.begin() as session:
        session.execute(
            update(Notification).where(Notification.id == notification_id).values(emailed_at=None)
        )


def _send(message: EmailMessage, settings: Settings) -> None:
    message["From"] = settings.smtp_sender
    host = settings.smtp_host or ""
    with smtplib.SMTP(host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as client:
        client.send_message(message)


def send_pending_emails(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Mail notifications not mailed yet (no-op without smtp_host); returns how many were sent."""
    if not settings.smtp_host:
        return 0
    with factory.begin() as session:
        ids = _pending_email_ids(session)
    sent = 0
    for notification_id in ids:
        message = _claim(factory, notification_id, now)
        if message is None:
            continue
        try:
            _send(message, settings)
        except (OSError, smtplib.SMTPException):
            logger.exception("mailing notification %s failed", notification_id)
            _unclaim(factory, notification_id)
            continue
        sent += 1
    return sent
