"""The election loop and the job wrapper, on a scheduler database of their own.

Each test gets a temporary SQLite file holding only the lease and job-run tables, because the
loop commits from several threads; short intervals keep it quick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine import model_registry
from engine.db import make_engine
from engine.db import make_session_factory
from engine.monitoring import job_runs
from engine.monitoring import lease
from engine.monitoring import scheduler
from engine.monitoring.election import GAVE_UP
from engine.monitoring.election import Election
from engine.monitoring.election import SchedulerSettingsError
from engine.monitoring.election import StopJobs
from engine.monitoring.job_runs import JobRun
from engine.monitoring.lease import SchedulerLease
from engine.settings import Settings

WAIT_SECONDS = 30  # a safety net against a hung test, not a measured bound


@pytest.fixture
def quick(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'scheduler.db'}",
        run_scheduler_in_process=False,
        scheduler_lease_seconds=1.0,
        scheduler_heartbeat_seconds=0.05,
        scheduler_standby_poll_seconds=0.05,
        scheduler_give_up_seconds=0.3,
    )


@pytest.fixture
def factory(quick: Settings) -> Iterator[sessionmaker[Session]]:
    db = make_engine(quick)
    for model in (SchedulerLease, JobRun):
        model.__table__.create(db)  # type: ignore[attr-defined]
    yield make_session_factory(db)
    db.dispose()


def broken_factory(tmp_path: Path) -> sessionmaker[Session]:
    """Sessions on a database that cannot be opened (its path is a directory)."""
    return make_session_factory(make_engine(Settings(database_url=f"sqlite:///{tmp_path}")))


class Jobs:
    """A stand-in for the APScheduler: records when the election starts and stops it."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.started = threading.Event()
        self.stopped = threading.Event()

    def start(self) -> StopJobs:
        self.events.append("start")
        self.started.set()

        def stop() -> None:
            self.events.append("stop")
            self.stopped.set()

        return stop


def run_in_thread(election: Election, jobs: Jobs) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(election.run(jobs.start)))
    thread.start()
    return thread, codes


def test_heartbeat_longer_than_half_the_lease_is_refused(
    quick: Settings, factory: sessionmaker[Session]
) -> None:
    with pytest.raises(SchedulerSettingsError, match="at most half"):
        Election(factory, quick.with_overrides(scheduler_heartbeat_seconds=0.6))


def test_unreachable_database_makes_the_scheduler_give_up_with_status_1(
    quick: Settings, tmp_path: Path
) -> None:
    jobs = Jobs()
    assert Election(broken_factory(tmp_path), quick).run(jobs.start) == GAVE_UP
    assert jobs.events == []


def test_losing_the_database_while_leading_stops_the_jobs_then_gives_up(
    quick: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    election = Election(factory, quick)
    jobs = Jobs()
    thread, codes = run_in_thread(election, jobs)
    assert jobs.started.wait(WAIT_SECONDS)
    assert election.still_leads()

    election.factory = broken_factory(tmp_path)  # the database goes away under the leader
    thread.join(WAIT_SECONDS)

    assert codes == [GAVE_UP]
    assert jobs.events == ["start", "stop"]
    assert not election.still_leads()


def test_leader_steps_down_when_its_lease_is_taken_and_stands_by(
    quick: Settings, factory: sessionmaker[Session]
) -> None:
    election = Election(factory, quick)
    jobs = Jobs()
    thread, codes = run_in_thread(election, jobs)
    assert jobs.started.wait(WAIT_SECONDS)

    with factory.begin() as session:  # what a standby does once the leader's lease expired
        session.execute(
            update(SchedulerLease).values(
                holder_token="c" * 32, pid=303, expires_at=datetime.now(UTC) + timedelta(hours=1)
            )
        )
    assert jobs.stopped.wait(WAIT_SECONDS)
    stopped_leading = election.still_leads()
    election.stopping.set()
    thread.join(WAIT_SECONDS)

    assert not stopped_leading
    assert codes == [0]
    assert jobs.events == ["start", "stop"]  # it stood by: the other holder's lease is valid
    with factory.begin() as session:
        assert session.get(SchedulerLease, "scheduler").pid == 303  # type: ignore[union-attr]


def test_stopping_releases_the_lease_for_a_standby(
    quick: Settings, factory: sessionmaker[Session]
) -> None:
    first = Election(factory, quick)
    jobs = Jobs()
    thread, codes = run_in_thread(first, jobs)
    assert jobs.started.wait(WAIT_SECONDS)
    first.stopping.set()
    thread.join(WAIT_SECONDS)

    second = Election(factory, quick)
    standby_jobs = Jobs()
    second_thread, second_codes = run_in_thread(second, standby_jobs)
    took_over = standby_jobs.started.wait(WAIT_SECONDS)
    second.stopping.set()
    second_thread.join(WAIT_SECONDS)

    assert codes == second_codes == [0]
    assert took_over


def test_a_job_run_does_nothing_unless_this_process_leads(
    quick: Settings, factory: sessionmaker[Session]
) -> None:
    calls: list[str] = []
    election = Election(factory, quick)
    run = scheduler._wrap(
        job_runs.TIMER_JOB_ID,
        lambda _f, _now, _s: calls.append("ran"),
        factory,
        quick,
        election,
    )
    run()
    assert calls == []
    with factory.begin() as session:
        assert job_runs.list_job_runs(session) == []


def test_a_job_run_records_its_start_end_and_error(
    quick: Settings, factory: sessionmaker[Session]
) -> None:
    election = Election(factory, quick)
    assert election._lease_call(lease.try_acquire)

    def failing(_f: object, _now: object, _s: object) -> None:
        raise RuntimeError("boom")

    scheduler._wrap("ok_job", lambda _f, _now, _s: 1, factory, quick, election)()
    scheduler._wrap("bad_job", failing, factory, quick, election)()

    with factory.begin() as session:
        runs = {run.job_id: run for run in job_runs.list_job_runs(session)}
    assert (runs["ok_job"].succeeded, runs["ok_job"].pid) == (True, election.candidate.pid)
    assert runs["ok_job"].last_success_at is not None
    assert (runs["bad_job"].succeeded, runs["bad_job"].error) == (False, "RuntimeError: boom")
    assert runs["bad_job"].last_success_at is None


def test_in_process_scheduler_runs_the_timer_job_and_releases_the_lease_on_stop(
    quick: Settings,
) -> None:
    settings = quick.with_overrides(timer_poll_seconds=1)
    db = make_engine(settings)
    model_registry.metadata().create_all(db)
    factory = make_session_factory(db)

    def timer_job_succeeded() -> bool:
        with factory.begin() as session:
            return not job_runs.timer_job_health(session, now=datetime.now(UTC)).late

    running = scheduler.start_in_process(settings, db)
    started = time.monotonic()
    while not timer_job_succeeded() and time.monotonic() - started < WAIT_SECONDS:
        time.sleep(0.05)
    succeeded = timer_job_succeeded()
    running.stop(WAIT_SECONDS)
    with factory.begin() as session:
        released = lease.find_lease(session)
        now = datetime.now(UTC)
    db.dispose()

    assert succeeded
    assert not running.thread.is_alive()
    assert released is not None and released.expires_at <= now
