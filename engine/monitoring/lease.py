"""The scheduler lease: one row saying which process leads, kept alive by a heartbeat.

A process leads while it holds the unexpired row `scheduler_lease(name="scheduler")`. The
leader renews it every `scheduler_heartbeat_seconds`; a lease not renewed for
`scheduler_lease_seconds` expires and a standby takes it over. A leader that stops making
progress (SIGSTOP, a hung host) therefore loses leadership without anyone killing it, and on
waking its renewal finds another holder's token, so it stops.

Expiry is judged by the database's clock on PostgreSQL, so processes on hosts with skewed
clocks agree; on SQLite (one host) by this host's clock. Every function runs in the caller's
short transaction; nothing here keeps a connection or a transaction open between calls.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Update
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.db import Base
from engine.models import UTCDateTime

LEASE_NAME = "scheduler"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class SchedulerLease(Base):
    """Who leads the scheduler (host, pid, since) and until when, unless renewed."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder_token: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))


@dataclass(frozen=True)
class Candidate:
    """One scheduler process running for leadership; the token tells its stints apart."""

    host: str
    pid: int
    token: str

    @classmethod
    def of_this_process(cls) -> Candidate:
        return cls(host=socket.gethostname(), pid=os.getpid(), token=uuid.uuid4().hex)


def database_now(session: Session) -> datetime:
    """The moment lease expiry is judged by: the server's clock on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        moment = session.scalar(select(func.clock_timestamp()))
        if isinstance(moment, datetime):
            return moment.astimezone(UTC)
    return datetime.now(UTC)


def _ensure_row(session: Session) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(SchedulerLease)
        .values(
            name=LEASE_NAME,
            holder_token="",
            host="",
            pid=0,
            acquired_at=NEVER,
            renewed_at=NEVER,
            expires_at=NEVER,
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )


def _changed(session: Session, statement: Update) -> bool:
    result = session.execute(statement)
    return isinstance(result, CursorResult) and result.rowcount == 1


def try_acquire(
    session: Session, candidate: Candidate, *, now: datetime, lease_seconds: float
) -> bool:
    """Take the lease if it expired (or is already ours); False while another process leads."""
    _ensure_row(session)
    return _changed(
        session,
        update(SchedulerLease)
        .where(
            SchedulerLease.name == LEASE_NAME,
            or_(SchedulerLease.expires_at <= now, SchedulerLease.holder_token == candidate.token),
        )
        .values(
            holder_token=candidate.token,
            host=candidate.host[:255],
            pid=candidate.pid,
            acquired_at=now,
            renewed_at=now,
            expires_at=now + timedelta(seconds=lease_seconds),
        )
        .execution_options(synchronize_session=False),
    )


def renew(session: Session, candidate: Candidate, *, now: datetime, lease_seconds: float) -> bool:
    """Extend our unexpired lease; False when it expired or another process took it."""
    return _changed(
        session,
        update(SchedulerLease)
        .where(
            SchedulerLease.name == LEASE_NAME,
            SchedulerLease.holder_token == candidate.token,
            SchedulerLease.expires_at > now,
        )
        .values(renewed_at=now, expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False),
    )


def holds(session: Session, candidate: Candidate, *, now: datetime) -> bool:
    """Whether the candidate holds the unexpired lease at `now`."""
    found = session.scalar(
        select(func.count())
        .select_from(SchedulerLease)
        .where(
            SchedulerLease.name == LEASE_NAME,
            SchedulerLease.holder_token == candidate.token,
            SchedulerLease.expires_at > now,
        )
    )
    return bool(found)


def release(session: Session, candidate: Candidate, *, now: datetime) -> None:
    """End our lease now, so that a standby takes over without waiting for the expiry."""
    session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder_token == candidate.token)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def find_lease(session: Session) -> SchedulerLease | None:
    """The lease row (expired or not), None before any scheduler ever ran."""
    row = session.get(SchedulerLease, LEASE_NAME)
    return row if row is not None and row.holder_token else None
