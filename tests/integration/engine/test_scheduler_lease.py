"""The scheduler lease row and the health report built from it and the job runs."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy.orm import Session

from engine.commands import scheduler_health
from engine.monitoring import job_runs
from engine.monitoring import lease
from engine.monitoring.lease import Candidate

T0 = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
LEASE = 20.0
FIRST = Candidate(host="sched-a", pid=101, token="a" * 32)
SECOND = Candidate(host="sched-b", pid=202, token="b" * 32)


def acquire(session: Session, candidate: Candidate, now: datetime) -> bool:
    return lease.try_acquire(session, candidate, now=now, lease_seconds=LEASE)


def test_one_candidate_leads_and_the_other_takes_over_only_after_expiry(session: Session) -> None:
    assert acquire(session, FIRST, T0)
    assert not acquire(session, SECOND, T0 + timedelta(seconds=LEASE - 1))
    assert acquire(session, SECOND, T0 + timedelta(seconds=LEASE))
    row = lease.find_lease(session)
    assert row is not None
    assert (row.host, row.pid, row.acquired_at) == ("sched-b", 202, T0 + timedelta(seconds=LEASE))


def test_renewal_keeps_the_lease_past_its_first_expiry(session: Session) -> None:
    assert acquire(session, FIRST, T0)
    renewed_at = T0 + timedelta(seconds=LEASE / 2)
    assert lease.renew(session, FIRST, now=renewed_at, lease_seconds=LEASE)
    assert not acquire(session, SECOND, T0 + timedelta(seconds=LEASE + 1))
    assert lease.holds(session, FIRST, now=T0 + timedelta(seconds=LEASE + 1))


def test_a_leader_waking_after_a_takeover_cannot_renew_and_no_longer_holds(
    session: Session,
) -> None:
    assert acquire(session, FIRST, T0)
    woke_at = T0 + timedelta(seconds=LEASE + 5)
    assert acquire(session, SECOND, woke_at)
    assert not lease.renew(session, FIRST, now=woke_at, lease_seconds=LEASE)
    assert not lease.holds(session, FIRST, now=woke_at)
    assert lease.holds(session, SECOND, now=woke_at)


def test_an_expired_lease_is_not_renewed_even_when_nobody_took_it(session: Session) -> None:
    assert acquire(session, FIRST, T0)
    late = T0 + timedelta(seconds=LEASE)
    assert not lease.renew(session, FIRST, now=late, lease_seconds=LEASE)
    assert not lease.holds(session, FIRST, now=late)


def test_release_lets_a_standby_take_over_at_once(session: Session) -> None:
    assert acquire(session, FIRST, T0)
    lease.release(session, FIRST, now=T0 + timedelta(seconds=1))
    assert acquire(session, SECOND, T0 + timedelta(seconds=1))


def test_health_without_any_scheduler_is_unhealthy(session: Session) -> None:
    lines, healthy = scheduler_health.report(session, now=T0)
    assert not healthy
    assert lines == [
        "leader: none (no scheduler has run yet)",
        "WARNING: the timer job has not succeeded for 5 minutes",
    ]


def test_health_names_the_leader_and_each_job_run(session: Session) -> None:
    assert acquire(session, FIRST, T0)
    for job_id, error in [(job_runs.TIMER_JOB_ID, None), ("clear_flags", "OperationalError: x")]:
        job_runs.record_start(session, job_id=job_id, host="sched-a", pid=101, now=T0)
        job_runs.record_finish(session, job_id=job_id, now=T0, error=error)
    session.flush()

    lines, healthy = scheduler_health.report(session, now=T0 + timedelta(seconds=1))

    assert healthy
    assert lines == [
        "leader: sched-a pid 101 since 2026-12-04T03:00:00+00:00, "
        "renewed 2026-12-04T03:00:00+00:00, expires 2026-12-04T03:00:20+00:00",
        "job clear_flags: last run 2026-12-04T03:00:00+00:00 by sched-a pid 101, "
        "failed: OperationalError: x; last success never",
        "job fire_due_timers: last run 2026-12-04T03:00:00+00:00 by sched-a pid 101, "
        "succeeded; last success 2026-12-04T03:00:00+00:00",
    ]


def test_health_flags_an_expired_lease_and_a_late_timer_job(session: Session) -> None:
    assert acquire(session, FIRST, T0)
    job_runs.record_start(session, job_id=job_runs.TIMER_JOB_ID, host="a", pid=1, now=T0)
    job_runs.record_finish(session, job_id=job_runs.TIMER_JOB_ID, now=T0, error=None)
    session.flush()
    later = T0 + job_runs.TIMER_JOB_LATE + timedelta(seconds=1)

    lines, healthy = scheduler_health.report(session, now=later)

    assert not healthy
    assert lines[0] == (
        "leader: none (the lease of sched-a pid 101 expired at 2026-12-04T03:00:20+00:00)"
    )
    assert lines[-1] == "WARNING: the timer job has not succeeded for 5 minutes"


def test_a_running_job_keeps_its_last_success(session: Session) -> None:
    job_id = job_runs.TIMER_JOB_ID
    job_runs.record_start(session, job_id=job_id, host="a", pid=1, now=T0)
    job_runs.record_finish(session, job_id=job_id, now=T0, error=None)
    job_runs.record_start(session, job_id=job_id, host="a", pid=1, now=T0 + timedelta(minutes=1))
    session.flush()
    health = job_runs.timer_job_health(session, now=T0 + timedelta(minutes=2))
    assert health == job_runs.TimerJobHealth(last_success_at=T0, late=False)
    assert [run.succeeded for run in job_runs.list_job_runs(session)] == [None]
