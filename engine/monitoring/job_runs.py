"""The last run of every scheduler job, recorded in the database for health checks.

One row per job id: when its last run started and finished, on which host and pid, whether it
succeeded, and when it last succeeded. `xietong scheduler --health` lists them and the
supervision page warns when the timer job has not succeeded for `TIMER_JOB_LATE`. Writing
these rows is the scheduler's business; this module has no APScheduler in it, so the web layer
may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Boolean
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.db import Base
from engine.models import UTCDateTime

TIMER_JOB_ID = "fire_due_timers"
TIMER_JOB_LATE = timedelta(minutes=5)
ERROR_LIMIT = 2000


class JobRun(Base):
    """The last run of one scheduler job."""

    __tablename__ = "job_run"

    job_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    succeeded: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))


def record_start(session: Session, *, job_id: str, host: str, pid: int, now: datetime) -> None:
    """Note that the job started a run on this host and pid."""
    run = session.get(JobRun, job_id)
    if run is None:
        run = JobRun(job_id=job_id)
        session.add(run)
    run.host, run.pid, run.started_at = host[:255], pid, now
    run.finished_at, run.succeeded, run.error = None, None, None


def record_finish(session: Session, *, job_id: str, now: datetime, error: str | None) -> None:
    """Note how the job's current run ended (`error` None means it succeeded)."""
    run = session.get(JobRun, job_id)
    if run is None:
        return
    run.finished_at, run.succeeded = now, error is None
    run.error = None if error is None else error[:ERROR_LIMIT]
    if error is None:
        run.last_success_at = now


def list_job_runs(session: Session) -> list[JobRun]:
    """Every job's last run, by job id."""
    return list(session.scalars(select(JobRun).order_by(JobRun.job_id)))


@dataclass(frozen=True)
class TimerJobHealth:
    """Whether BPMN timers are being fired: the timer job's last success and its age."""

    last_success_at: datetime | None
    late: bool


def timer_job_health(session: Session, *, now: datetime) -> TimerJobHealth:
    """Late when the timer job never succeeded or not within `TIMER_JOB_LATE` of `now`."""
    run = session.get(JobRun, TIMER_JOB_ID)
    last = run.last_success_at if run is not None else None
    return TimerJobHealth(last_success_at=last, late=last is None or now - last > TIMER_JOB_LATE)
