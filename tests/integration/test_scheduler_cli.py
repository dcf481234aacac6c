"""`xietong scheduler` and `xietong scheduler --health` as real processes on SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

from engine import migrate
from engine.db import make_engine
from engine.db import make_session_factory
from engine.monitoring import job_runs
from engine.settings import Settings
from tests.integration.test_cli import ROOT

WAIT_SECONDS = 90.0  # a safety net against a hung test, not a measured bound
QUICK = {
    "XIETONG_IN_PROCESS_SCHEDULER": "false",
    "XIETONG_TIMER_POLL_SECONDS": "1",
    "XIETONG_FLAG_POLL_SECONDS": "3600",
    "XIETONG_SCHEDULER_LEASE_SECONDS": "2",
    "XIETONG_SCHEDULER_HEARTBEAT_SECONDS": "0.2",
    "XIETONG_SCHEDULER_STANDBY_POLL_SECONDS": "0.2",
    "XIETONG_SCHEDULER_GIVE_UP_SECONDS": "1",
}


def environment(url: str) -> dict[str, str]:
    return {**os.environ, **QUICK, "XIETONG_DATABASE_URL": url}


def xietong(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        cwd=ROOT,
        env=environment(url),
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )


def timer_job_succeeded(url: str) -> bool:
    db = make_engine(Settings(database_url=url))
    try:
        with make_session_factory(db).begin() as session:
            return not job_runs.timer_job_health(session, now=datetime.now(UTC)).late
    finally:
        db.dispose()


def test_health_follows_a_scheduler_from_start_to_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(Settings(database_url=url))
    before = xietong(url, "scheduler", "--health")
    log = tmp_path / "scheduler.log"
    with log.open("w", encoding="utf-8") as handle:
        child = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "scheduler"],
            cwd=ROOT,
            env=environment(url),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        started = time.monotonic()
        while not timer_job_succeeded(url) and time.monotonic() - started < WAIT_SECONDS:
            time.sleep(0.2)
        running = xietong(url, "scheduler", "--health")
    finally:
        child.terminate()
        code = child.wait(timeout=WAIT_SECONDS)
    after = xietong(url, "scheduler", "--health")
    host = socket.gethostname()

    assert before.returncode == 1
    assert before.stdout.startswith("leader: none (no scheduler has run yet)\n")
    assert running.returncode == 0, log.read_text(encoding="utf-8")
    assert running.stdout.startswith(f"leader: {host} pid {child.pid} since ")
    assert "job fire_due_timers: last run " in running.stdout
    assert f"by {host} pid {child.pid}, succeeded" in running.stdout
    assert code == 0
    assert after.returncode == 1
    assert after.stdout.startswith(f"leader: none (the lease of {host} pid {child.pid} expired")


def test_scheduler_exits_1_when_the_database_stays_unreachable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"  # a directory: it cannot be opened
    result = xietong(url, "scheduler")
    health = xietong(url, "scheduler", "--health")

    assert result.returncode == 1
    assert "database unreachable" in result.stderr
    assert "the scheduler gives up" in result.stderr
    assert health.returncode == 1
    assert health.stderr.startswith("cannot read the scheduler state: unable to open database")
