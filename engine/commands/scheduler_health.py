"""`xietong scheduler --health`: who leads the scheduler, and when each job last ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.monitoring import job_runs
from engine.monitoring import lease
from engine.monitoring.job_runs import JobRun


def _iso(moment: datetime | None) -> str:
    return "never" if moment is None else moment.isoformat(timespec="seconds")


def _leader_line(session: Session, now: datetime) -> tuple[str, bool]:
    row = lease.find_lease(session)
    if row is None:
        return "leader: none (no scheduler has run yet)", False
    who = f"{row.host} pid {row.pid}"
    if row.expires_at <= now:
        return f"leader: none (the lease of {who} expired at {_iso(row.expires_at)})", False
    return (
        f"leader: {who} since {_iso(row.acquired_at)}, renewed {_iso(row.renewed_at)}, "
        f"expires {_iso(row.expires_at)}",
        True,
    )


def _job_line(run: JobRun) -> str:
    if run.succeeded is None:
        outcome = "running"
    elif run.succeeded:
        outcome = "succeeded"
    else:
        outcome = "failed: " + (run.error or "").partition("\n")[0]
    return (
        f"job {run.job_id}: last run {_iso(run.started_at)} by {run.host} pid {run.pid}, "
        f"{outcome}; last success {_iso(run.last_success_at)}"
    )


def report(session: Session, *, now: datetime) -> tuple[list[str], bool]:
    """The health report's lines, and whether all is well (a leader, timers not late)."""
    leader, leads = _leader_line(session, now)
    lines = [leader, *(_job_line(run) for run in job_runs.list_job_runs(session))]
    timers = job_runs.timer_job_health(session, now=now)
    if timers.late:
        minutes = int(job_runs.TIMER_JOB_LATE.total_seconds() // 60)
        lines.append(f"WARNING: the timer job has not succeeded for {minutes} minutes")
    return lines, leads and not timers.late
