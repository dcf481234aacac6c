"""While hostile BPMN code is being refused or stopped, the server keeps answering requests.

Before the size guards, `sum([[0] * 10] * 200000, [])` or `1 << 10**10` was one C call that
held the interpreter lock for 30 s or more: every other request of the process waited. Now
those are refused at once, a Python loop is stopped by its budget, and a C-level operation no
guard knows runs in a worker process that is killed while the server thread only waits.
"""

from __future__ import annotations

import threading
import time

import pytest
from flask.testing import FlaskClient

from engine.execution import script_worker
from engine.execution.script_engine import GuardedEnvironment
from engine.execution.script_worker import pool_for
from tests.integration.engine.test_script_worker import ALIASED_COMPARISON
from tests.unit.test_script_limits import HOSTILE

# Generous: a login page answers in milliseconds; before the guards it waited 30 s and more.
ANSWER_BOUND_SECONDS = 10.0
CPU_LOOP = "n = 0\nwhile True:\n    n = n + 1"
ONE_ROUND = len(HOSTILE) + 2


def _run_hostile_payloads(stop: threading.Event, outcomes: list[str]) -> None:
    in_server = GuardedEnvironment(0.5, lambda name, params: {})
    in_worker = GuardedEnvironment(0.5, lambda name, params: {}, workers=pool_for(512))
    payloads = [
        *((in_server, source) for source in HOSTILE.values()),
        (in_server, CPU_LOOP),
        (in_worker, ALIASED_COMPARISON),
    ]
    while not stop.is_set():
        for environment, source in payloads:
            try:
                environment.execute(source, {})
            except Exception as exc:  # every payload must end in a refusal, recorded here
                outcomes.append(type(exc).__name__)
            else:
                outcomes.append("ran")


def test_requests_keep_answering_while_hostile_scripts_are_refused_and_stopped(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(script_worker, "GRACE_SECONDS", 1.0)
    stop = threading.Event()
    outcomes: list[str] = []
    worker = threading.Thread(target=_run_hostile_payloads, args=(stop, outcomes), daemon=True)
    worker.start()
    answer_times = []
    deadline = time.monotonic() + 120
    try:
        # Ask until every payload has been refused or stopped once, all while asking.
        while len(outcomes) < ONE_ROUND and time.monotonic() < deadline:
            started = time.monotonic()
            assert client.get("/login").status_code == 200
            answer_times.append(time.monotonic() - started)
        still_busy = worker.is_alive()
    finally:
        stop.set()
        worker.join(timeout=30)

    assert still_busy
    assert not worker.is_alive()
    assert max(answer_times) < ANSWER_BOUND_SECONDS
    assert len(outcomes) >= ONE_ROUND and "ran" not in outcomes
    assert set(outcomes) <= {"ScriptLimitExceeded", "ScriptTimeoutError"}
