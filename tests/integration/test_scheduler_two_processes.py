"""Two real job-running processes on one PostgreSQL database duplicate nothing.

Even when both run every job at once (bypassing the election, as after a split brain), a
timer fires once, and flags and notifications are never duplicated; a broken instance goes
to `error` without stopping the job for the others. Leader election itself, with real
scheduler processes, is tests/integration/test_scheduler_failover.py.

The children are `python -c` processes driven round by round over stdin/stdout, so both run
the same round with the same `now` at the same time; nothing sleeps.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update

from engine.execution import definitions
from engine.models import AuditEvent
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.notifications import Notification
from tests.integration.test_flags import REVIEW_DUE
from tests.integration.test_flags import START
from tests.integration.test_flags import Env
from tests.integration.test_flags import isolated_env
from tests.integration.test_flags import postgres_url
from tests.integration.test_flags import start_case

if TYPE_CHECKING:
    from tests.conftest import Clock

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        postgres_url() is None,
        reason="needs PostgreSQL: set XIETONG_TEST_DATABASE_URL=postgresql://... "
        "(SQLite has a single writer and a file lock, so there is no race to show)",
    ),
]

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_SECONDS = 120
FIRST_ROUND = REVIEW_DUE + timedelta(seconds=1)  # every review task overdue, every case stalled
SECOND_ROUND = FIRST_ROUND + timedelta(days=7)  # every ladder at its top
ROUNDS = [FIRST_ROUND, FIRST_ROUND, SECOND_ROUND, SECOND_ROUND]
CASES = 4
TIMERS = 4
BROKEN = 3

JOBS_CHILD = """
import json
import logging
import sys
from datetime import datetime
from engine.monitoring import flags
from engine.monitoring import jobs
from engine.db import make_engine
from engine.db import make_session_factory
from engine.settings import Settings

logging.basicConfig(level=logging.ERROR, format="LOG %(levelname)s %(name)s %(message)s")
settings = Settings(database_url=sys.argv[1], run_scheduler_in_process=False)
factory = make_session_factory(make_engine(settings))
for line in sys.stdin:
    now = datetime.fromisoformat(line.strip())
    result = {"timers": jobs.fire_due_timers(factory, now=now, settings=settings)}
    for name, (func, _seconds) in flags.scheduler_jobs(settings).items():
        result[name] = func(factory, now, settings)
    sys.stdout.write(json.dumps(result) + "\\n")
    sys.stdout.flush()
"""


def spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(*children: subprocess.Popen[str]) -> list[str]:
    """Close the children's stdin, wait for all of them; their stderr. Fails if one failed."""
    outputs = [child.communicate(timeout=CHILD_TIMEOUT_SECONDS) for child in children]
    errors = [err for _out, err in outputs]
    assert [child.returncode for child in children] == [0] * len(children), "\n".join(errors)
    return errors


def read_line(child: subprocess.Popen[str]) -> str:
    """The child's next line; empty when it exited (stop() then reports why)."""
    assert child.stdout is not None
    return child.stdout.readline().strip()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setattr(definitions, "_DEFINITIONS", {})  # definition ids restart per database
    with isolated_env(tmp_path) as created:
        yield created


def run_rounds(url: str, rounds: list[datetime]) -> list[str]:
    """Run every job in two processes at once, round by round; their stderr."""
    children = [spawn(JOBS_CHILD, url), spawn(JOBS_CHILD, url)]
    for now in rounds:
        for child in children:
            assert child.stdin is not None
            child.stdin.write(now.isoformat() + "\n")
            child.stdin.flush()
        if not all(read_line(child) for child in children):
            break  # one of them died: stop() says how
    return stop(*children)


def prepare(env: Env, clock: Clock) -> tuple[list[int], list[int], list[int]]:
    cases = [start_case(env, f"SJ-{n}", START) for n in range(CASES)]
    clock.now = FIRST_ROUND - timedelta(hours=2)  # the timers fall due an hour before round one
    timers = [start_case(env, f"DS-{n}", clock.now, process_id="timer_demo") for n in range(TIMERS)]
    broken = [start_case(env, f"HS-{n}", clock.now, process_id="timer_demo") for n in range(BROKEN)]
    with env.factory.begin() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id.in_(broken))
            .values(state_json="{broken")
        )
    return cases, timers, broken


def snapshot(env: Env) -> dict[str, Any]:
    with env.factory.begin() as session:
        return {
            "status": dict(
                session.execute(select(ProcessInstance.id, ProcessInstance.status)).all()
            ),
            "timer_firings": Counter(
                session.scalars(
                    select(AuditEvent.instance_id).where(AuditEvent.bpmn_id == "wait_one_hour")
                )
            ),
            "flags": Counter(
                (kind, instance_id, level)
                for kind, instance_id, level in session.execute(
                    select(Flag.kind, Flag.instance_id, Flag.level)
                )
            ),
            "notifications": Counter(
                (flag_id, level)
                for flag_id, level in session.execute(
                    select(Notification.flag_id, Notification.level)
                )
            ),
        }


def test_two_schedulers_running_every_job_duplicate_nothing(env: Env, clock: Clock) -> None:
    cases, timers, broken = prepare(env, clock)

    errors = run_rounds(env.settings.database_url, ROUNDS)

    state = snapshot(env)
    assert state["timer_firings"] == Counter(timers)
    assert {i: state["status"][i] for i in [*timers, *broken]} == {
        **{i: InstanceStatus.RUNNING for i in timers},
        **{i: InstanceStatus.ERROR for i in broken},
    }
    expected_flags = Counter(
        [(FlagKind.RED, i, 2) for i in cases]
        + [(FlagKind.STALLED, i, 2) for i in cases]
        + [(FlagKind.STALLED, i, 0) for i in timers]
    )
    assert state["flags"] == expected_flags
    # Per case flag: officers zhangsan and lisi, then the head, then the coordinator.
    per_level = Counter(level for _flag, level in state["notifications"].elements())
    assert per_level == {0: 2 * 2 * CASES + TIMERS, 1: 2 * CASES, 2: 2 * CASES}
    logged = {line for err in errors for line in err.splitlines() if line.startswith("LOG ")}
    assert logged == {
        f"LOG ERROR engine.monitoring.jobs timer job failed for instance {i}" for i in broken
    }
