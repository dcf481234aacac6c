"""Scheduler leadership over time: stand by, lead, step down, reconnect, give up.

`Election.run(start_jobs)` loops until asked to stop. It tries to take the lease
(engine.monitoring.lease); while another process leads it stands by and tries again every
`scheduler_standby_poll_seconds`. Once it leads it starts the jobs and renews the lease every
`scheduler_heartbeat_seconds` from this thread, never from a job thread, so slow jobs cannot
starve the heartbeat. When a renewal fails (the lease was taken over, or the database is
gone) it stops the jobs at once and goes back to the election, retrying a lost database with
exponential backoff. When the database stays unreachable for `scheduler_give_up_seconds`,
`run` returns 1 so that the process exits and its supervisor (systemd) restarts it.

Every job run asks `still_leads()` first: false as soon as this host's monotonic clock passes
the last renewal plus the lease, and otherwise confirmed against the database. This module
knows nothing of APScheduler.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.monitoring import lease
from engine.monitoring.lease import Candidate
from engine.settings import Settings

logger = logging.getLogger(__name__)

GAVE_UP = 1
StopJobs = Callable[[], None]


class SchedulerSettingsError(ValueError):
    """The lease, heartbeat and poll settings cannot work together."""


class LeaseCall(Protocol):
    def __call__(
        self, session: Session, candidate: Candidate, *, now: datetime, lease_seconds: float
    ) -> bool: ...


@contextmanager
def autocommit_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose every statement commits on its own on PostgreSQL.

    Used for the lease and job-run rows: a process stopped between a statement and its
    COMMIT would otherwise keep the row locked and block the standby that takes over. SQLite
    keeps ordinary transactions (its BEGIN IMMEDIATE hook would open one anyway).
    """
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
        session.commit()


@dataclass
class Election:
    """One process's run for scheduler leadership; `stopping` ends `run` cleanly."""

    factory: sessionmaker[Session]
    settings: Settings
    candidate: Candidate = field(default_factory=Candidate.of_this_process)
    give_up: bool = True
    stopping: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic
    _valid_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.settings.scheduler_heartbeat_seconds * 2 > self.settings.scheduler_lease_seconds:
            raise SchedulerSettingsError(
                "XIETONG_SCHEDULER_HEARTBEAT_SECONDS must be at most half of "
                "XIETONG_SCHEDULER_LEASE_SECONDS"
            )

    def still_leads(self) -> bool:
        """Whether this process still holds the lease; jobs check it before doing any work."""
        if self.clock() >= self._valid_until:
            return False
        with autocommit_session(self.factory) as session:
            return lease.holds(session, self.candidate, now=lease.database_now(session))

    def run(self, start_jobs: Callable[[], StopJobs]) -> int:
        """Elect, lead and re-elect until stopped (0) or the database is gone too long (1)."""
        unreachable_since: float | None = None
        delay = self.settings.scheduler_heartbeat_seconds
        standing_by = False
        while not self.stopping.is_set():
            try:
                leads = self._lease_call(lease.try_acquire)
            except SQLAlchemyError as exc:
                if unreachable_since is None:
                    unreachable_since = self.clock()
                if self._gives_up(unreachable_since):
                    return GAVE_UP
                logger.warning("database unreachable (%s); retrying in %.1f s", exc, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, self.settings.scheduler_lease_seconds)
                continue
            unreachable_since, delay = None, self.settings.scheduler_heartbeat_seconds
            if leads:
                standing_by = False
                self._lead(start_jobs)
            else:
                if not standing_by:
                    logger.info("standing by: another scheduler is the leader")
                standing_by = True
                self.stopping.wait(self.settings.scheduler_standby_poll_seconds)
        self._release()
        return 0

    def _gives_up(self, unreachable_since: float) -> bool:
        waited = self.clock() - unreachable_since
        if not self.give_up or waited < self.settings.scheduler_give_up_seconds:
            return False
        logger.error("database unreachable for %.0f s: the scheduler gives up", waited)
        return True

    def _lease_call(self, call: LeaseCall) -> bool:
        started = self.clock()
        with autocommit_session(self.factory) as session:
            now = lease.database_now(session)
            ok = call(
                session,
                self.candidate,
                now=now,
                lease_seconds=self.settings.scheduler_lease_seconds,
            )
        # Measured from before the query: never later than the expiry the database records.
        self._valid_until = started + self.settings.scheduler_lease_seconds if ok else 0.0
        return ok

    def _lead(self, start_jobs: Callable[[], StopJobs]) -> None:
        logger.info(
            "this process leads the scheduler: %s pid %s", self.candidate.host, self.candidate.pid
        )
        stop_jobs = start_jobs()
        try:
            while not self.stopping.wait(self.settings.scheduler_heartbeat_seconds):
                if not self._renew():
                    return
        finally:
            self._valid_until = 0.0
            stop_jobs()

    def _renew(self) -> bool:
        try:
            renewed = self._lease_call(lease.renew)
        except SQLAlchemyError:
            logger.exception("lost the database while leading: jobs stop until re-elected")
            return False
        if not renewed:
            logger.error("lost the scheduler lease (taken over or expired): jobs stop")
        return renewed

    def _release(self) -> None:
        self._valid_until = 0.0
        try:
            with autocommit_session(self.factory) as session:
                lease.release(session, self.candidate, now=lease.database_now(session))
        except SQLAlchemyError:
            logger.warning("could not release the scheduler lease; it expires by itself")
