"""APScheduler wiring: one leader per deployment runs the polling jobs.

Leader election: on PostgreSQL a session-level advisory lock held on a dedicated
connection; on SQLite an exclusive file lock beside the database file. A process that is
not the leader waits as a standby and takes over when the leader's lock goes away.
`python -m engine.monitoring.scheduler` or `xietong scheduler` runs it in the foreground.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import IO
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.db import is_sqlite
from engine.db import make_engine
from engine.db import make_session_factory
from engine.monitoring import jobs
from engine.settings import Settings
from engine.settings import load_settings

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x58494554  # "XIET"
JobFunc = Callable[[sessionmaker[Session], datetime, Settings], Any]


@dataclass
class LeaderLock:
    """Held while this process is the scheduler leader."""

    connection: Connection | None = None
    file: IO[str] | None = None

    def alive(self) -> bool:
        if self.connection is None:
            return self.file is not None
        try:
            self.connection.execute(text("SELECT 1"))
        except Exception:
            logger.exception("lost the scheduler leader connection")
            return False
        return True

    def release(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()


def try_become_leader(engine: Engine, settings: Settings) -> LeaderLock | None:
    """Take the leader lock if nobody holds it; None when another process leads."""
    if is_sqlite(settings.database_url):
        return _file_lock(settings)
    connection = engine.connect()
    got = connection.execute(
        text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
    ).scalar()
    connection.commit()
    if got:
        return LeaderLock(connection=connection)
    connection.close()
    return None


def _file_lock(settings: Settings) -> LeaderLock | None:
    db_path = settings.database_url.split("///", 1)[-1] or "xietong"
    lock_path = Path(f"{db_path}.scheduler.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return LeaderLock(file=handle)


def _timers(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    return jobs.fire_due_timers(factory, now=now, settings=settings)


def job_table(settings: Settings) -> dict[str, tuple[JobFunc, int]]:
    """Job id → (function, interval in seconds)."""
    table: dict[str, tuple[JobFunc, int]] = {
        "fire_due_timers": (_timers, settings.timer_poll_seconds)
    }
    from engine.monitoring import calendar_reminder
    from engine.monitoring import flags

    table.update(flags.scheduler_jobs(settings))
    table["remind_missing_calendar"] = (
        calendar_reminder.remind_job,
        calendar_reminder.INTERVAL_SECONDS,
    )
    return table


def _wrap(
    name: str, func: JobFunc, factory: sessionmaker[Session], settings: Settings, lock: LeaderLock
) -> Callable[[], None]:
    def run() -> None:
        if not lock.alive():
            return
        try:
            result = func(factory, datetime.now(UTC), settings)
            logger.debug("job %s done: %s", name, result)
        except Exception:
            logger.exception("job %s failed", name)

    return run


def build_scheduler(
    settings: Settings, factory: sessionmaker[Session], lock: LeaderLock, *, blocking: bool
) -> BaseScheduler:
    """A scheduler with every job registered (not started)."""
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=UTC) if blocking else BackgroundScheduler(timezone=UTC)
    )
    for name, (func, seconds) in job_table(settings).items():
        scheduler.add_job(
            _wrap(name, func, factory, settings, lock),
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    return scheduler


def start_in_process(settings: Settings, engine: Engine) -> BaseScheduler | None:
    """Start a background scheduler in this process if it can lead; None when another leads."""
    lock = try_become_leader(engine, settings)
    if lock is None:
        logger.info("another scheduler leads; this process runs none")
        return None
    scheduler = build_scheduler(settings, make_session_factory(engine), lock, blocking=False)
    scheduler.start()
    logger.info("in-process scheduler started")
    return scheduler


def run_forever(settings: Settings | None = None, *, standby_poll_seconds: float = 5.0) -> None:
    """Run as the scheduler process: wait to lead, then run jobs until stopped."""
    settings = settings or load_settings()
    engine = make_engine(settings)
    lock = try_become_leader(engine, settings)
    while lock is None:
        logger.info("standing by: another scheduler is the leader")
        time.sleep(standby_poll_seconds)
        lock = try_become_leader(engine, settings)
    logger.info("scheduler leader started")
    try:
        build_scheduler(settings, make_session_factory(engine), lock, blocking=True).start()
    finally:
        lock.release()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    run_forever()
