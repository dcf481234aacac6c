"""Server-side login sessions: the browser holds a random id, the table its SHA-256.

A session ends when it is revoked (logout, password change, deactivation), when its
lifetime is over (`Settings.session_hours`) or when it has been idle too long
(`Settings.session_idle_minutes`). Nothing here commits.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.models import User
from engine.models import UserSession
from engine.settings import Settings

logger = logging.getLogger(__name__)

# last_seen_at is written at most this often: not one UPDATE per page view.
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_ID_LENGTH = 200


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User, *, now: datetime, settings: Settings) -> str:
    """Open a session for the user; returns its id (only its hash is stored: give it once)."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id_hash=_id_hash(session_id),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    session.flush()
    return session_id


def _is_live(row: UserSession, now: datetime, settings: Settings) -> bool:
    idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return row.revoked_at is None and now < row.expires_at and now < idle_limit


def find_session_user(
    session: Session, session_id: str, *, now: datetime, settings: Settings
) -> User | None:
    """The active user of a live session, marking it seen; None when it has ended.

    The caller commits when it wants the new last-seen time kept (see `TOUCH_INTERVAL`).
    """
    if not session_id or len(session_id) > MAX_ID_LENGTH:
        return None
    row = session.scalar(select(UserSession).where(UserSession.id_hash == _id_hash(session_id)))
    if row is None or not _is_live(row, now, settings):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        session.flush()
    return user


def end_session(session: Session, session_id: str, *, now: datetime) -> None:
    """Revoke one session (nothing happens for an unknown or ended one)."""
    session.execute(
        update(UserSession)
        .where(UserSession.id_hash == _id_hash(session_id), UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_user_sessions(session: Session, user_id: int, *, now: datetime) -> int:
    """Revoke every live session of a user; returns how many were ended."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    logger.info("ended %s session(s) of user %s", count, user_id)
    return count
