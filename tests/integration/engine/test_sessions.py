"""Server-side sessions end on revocation, after their lifetime and after idling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import User
from engine.models import UserSession
from engine.people import accounts
from engine.people import sessions
from engine.settings import Settings
from tests.conftest import START

SETTINGS = Settings(session_hours=8, session_idle_minutes=30)


@pytest.fixture
def sid(session: Session, officer: User) -> str:
    return sessions.start_session(session, officer, now=START, settings=SETTINGS)


def _find(session: Session, sid: str, minutes: float) -> User | None:
    now = START + timedelta(minutes=minutes)
    return sessions.find_session_user(session, sid, now=now, settings=SETTINGS)


def test_only_the_hash_of_the_id_is_stored(session: Session, sid: str) -> None:
    stored = list(session.scalars(select(UserSession.id_hash)))
    assert sid not in stored
    assert len(stored) == 1
    assert len(stored[0]) == 64


def test_a_session_in_use_lives_until_its_lifetime_ends(
    session: Session, sid: str, officer: User
) -> None:
    for minutes in range(20, 8 * 60, 20):
        assert _find(session, sid, minutes) is officer
    assert _find(session, sid, 8 * 60) is None


def test_an_idle_session_ends(session: Session, sid: str, officer: User) -> None:
    assert _find(session, sid, 29) is officer
    assert _find(session, sid, 29 + 30) is None


def test_logout_ends_every_session_of_the_user(session: Session, sid: str, officer: User) -> None:
    other = sessions.start_session(session, officer, now=START, settings=SETTINGS)
    assert sessions.end_user_sessions(session, officer.id, now=START) == 2
    assert _find(session, sid, 1) is None
    assert _find(session, other, 1) is None


def test_a_password_change_or_deactivation_ends_the_sessions(
    session: Session, sid: str, officer: User
) -> None:
    accounts.set_password(session, officer, "a-new-long-password")
    assert _find(session, sid, 1) is None
    again = sessions.start_session(session, officer, now=START, settings=SETTINGS)
    accounts.set_active(session, officer, False)
    assert _find(session, again, 1) is None


def test_unknown_or_absurd_ids_find_nobody(session: Session, sid: str) -> None:
    assert _find(session, sid + "x", 1) is None
    assert _find(session, "", 1) is None
    assert _find(session, "x" * 10_000, 1) is None
