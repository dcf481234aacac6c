"""APScheduler wiring: one leader per deployment runs the polling jobs.

Leadership is a lease row with a heartbeat (engine.monitoring.lease, driven by
engine.monitoring.election), on PostgreSQL and SQLite alike. The jobs run in a background
APScheduler while this process leads; each run first checks the lease, then records its start
and end in `job_run` (engine.monitoring.job_runs). `python -m engine.monitoring.scheduler` or
`xietong scheduler` runs it in the foreground and exits with status 1 when the database stays
unreachable for `scheduler_give_up_seconds`; `start_in_process` runs the same election in a
daemon thread of a web server, which never gives up.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.db import is_sqlite
from engine.db import make_engine
from engine.db import make_session_factory
from engine.monitoring import job_runs
from engine.monitoring import jobs
from engine.monitoring.election import Election
from engine.monitoring.election import StopJobs
from engine.monitoring.election import autocommit_session
from engine.monitoring.lease import Candidate
from engine.settings import Settings
from engine.settings import load_settings

logger = logging.getLogger(__name__)

JobFunc = Callable[[sessionmaker[Session], datetime, Settings], Any]
APPLICATION_NAME = "xietong-scheduler"
# libpq options: notice a dead server or network within about half a minute instead of
# hanging on a socket, and never wait long to connect.
PG_CONNECT_ARGS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 10}
PG_CONNECT_ARGS |= {"keepalives_interval": 5, "keepalives_count": 3}
IDLE_IN_TRANSACTION_SECONDS = 60


def _timers(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    return jobs.fire_due_timers(factory, now=now, settings=settings)


def job_table(settings: Settings) -> dict[str, tuple[JobFunc, int]]:
    """Job id → (function, interval in seconds)."""
    table: dict[str, tuple[JobFunc, int]] = {
        job_runs.TIMER_JOB_ID: (_timers, settings.timer_poll_seconds)
    }
    from engine.monitoring import calendar_reminder
    from engine.monitoring import flags

    table.update(flags.scheduler_jobs(settings))
    table["remind_missing_calendar"] = (
        calendar_reminder.remind_job,
        calendar_reminder.INTERVAL_SECONDS,
    )
    return table


def _begin_run(name: str, factory: sessionmaker[Session], election: Election) -> bool:
    try:
        if not election.still_leads():
            logger.warning("job %s skipped: this process does not lead the scheduler", name)
            return False
        with autocommit_session(factory) as session:
            job_runs.record_start(
                session,
                job_id=name,
                host=election.candidate.host,
                pid=election.candidate.pid,
                now=datetime.now(UTC),
            )
    except Exception:
        logger.exception("job %s skipped: cannot confirm the scheduler lease", name)
        return False
    return True


def _end_run(name: str, factory: sessionmaker[Session], error: str | None) -> None:
    try:
        with autocommit_session(factory) as session:
            job_runs.record_finish(session, job_id=name, now=datetime.now(UTC), error=error)
    except Exception:
        logger.exception("job %s: could not record the end of its run", name)


def _wrap(
    name: str, func: JobFunc, factory: sessionmaker[Session], settings: Settings, election: Election
) -> Callable[[], None]:
    def run() -> None:
        if not _begin_run(name, factory, election):
            return
        error: str | None = None
        try:
            result = func(factory, datetime.now(UTC), settings)
            logger.debug("job %s done: %s", name, result)
        except Exception as exc:
            logger.exception("job %s failed", name)
            error = f"{type(exc).__name__}: {exc}"
        _end_run(name, factory, error)

    return run


def build_scheduler(
    settings: Settings, factory: sessionmaker[Session], election: Election
) -> BackgroundScheduler:
    """A background scheduler with every job registered (not started)."""
    scheduler = BackgroundScheduler(timezone=UTC)
    for name, (func, seconds) in job_table(settings).items():
        scheduler.add_job(
            _wrap(name, func, factory, settings, election),
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    return scheduler


def _jobs_starter(
    settings: Settings, factory: sessionmaker[Session], election: Election
) -> Callable[[], StopJobs]:
    def start() -> StopJobs:
        scheduler = build_scheduler(settings, factory, election)
        scheduler.start()
        # Running jobs finish on their own; each new run would check the lease first anyway.
        return lambda: scheduler.shutdown(wait=False)

    return start


def _session_limits(dbapi_connection: Any, _record: Any) -> None:
    # A stopped or hung scheduler must not keep the instance rows it locked for ever: the
    # server ends a transaction left idle this long, and its locks go with it.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_SECONDS}s'")
    cursor.close()
    dbapi_connection.commit()


def make_scheduler_engine(settings: Settings, candidate: Candidate) -> Engine:
    """The scheduler's engine; on PostgreSQL its connections are named after host and pid,
    use TCP keepalives and end transactions left idle (`_session_limits`)."""
    if is_sqlite(settings.database_url):
        return make_engine(settings)
    name = f"{APPLICATION_NAME} {candidate.pid}@{candidate.host}"[:63]
    engine = make_engine(settings, connect_args={"application_name": name, **PG_CONNECT_ARGS})
    event.listen(engine, "connect", _session_limits)
    return engine


@dataclass(frozen=True)
class InProcessScheduler:
    """The election running in a daemon thread of a server process."""

    election: Election
    thread: threading.Thread

    def stop(self, timeout: float | None = None) -> None:
        """Stop leading or standing by, release the lease, and wait for the thread."""
        self.election.stopping.set()
        self.thread.join(timeout)


def start_in_process(settings: Settings, engine: Engine) -> InProcessScheduler:
    """Run the election in a daemon thread of this process: it stands by or leads, forever."""
    factory = make_session_factory(engine)
    election = Election(factory, settings, give_up=False)
    thread = threading.Thread(
        target=election.run,
        args=(_jobs_starter(settings, factory, election),),
        name="xietong-scheduler",
        daemon=True,
    )
    thread.start()
    logger.info("in-process scheduler started")
    return InProcessScheduler(election, thread)


def run_forever(settings: Settings | None = None) -> int:
    """Run as the scheduler process until SIGTERM/SIGINT (0) or the database is gone (1)."""
    settings = settings or load_settings()
    candidate = Candidate.of_this_process()
    engine = make_scheduler_engine(settings, candidate)
    factory = make_session_factory(engine)
    election = Election(factory, settings, candidate)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: election.stopping.set())
    try:
        return election.run(_jobs_starter(settings, factory, election))
    finally:
        engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for chatty in ("apscheduler", "spiff", "SpiffWorkflow"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    sys.exit(run_forever())
