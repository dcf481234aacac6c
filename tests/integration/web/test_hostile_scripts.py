"""While hostile BPMN code is being refused or stopped, the server keeps answering requests.

Before the size guards, `sum([[0] * 10] * 200000, [])` or `1 << 10**10` was one C call that
held the interpreter lock for 30 s or more: every other request of the process waited.
"""

from __future__ import annotations

import threading
import time

from flask.testing import FlaskClient

from engine.execution.script_engine import GuardedEnvironment
from tests.unit.test_script_limits import HOSTILE

# Generous: a login page answers in milliseconds; before the guards it waited 30 s and more.
ANSWER_BOUND_SECONDS = 10.0
CPU_LOOP = "n = 0\nwhile True:\n    n = n + 1"


def _run_hostile_payloads(stop: threading.Event, outcomes: list[str]) -> None:
    environment = GuardedEnvironment(0.5, lambda name, params: {})
    while not stop.is_set():
        for source in [*HOSTILE.values(), CPU_LOOP]:
            try:
                environment.execute(source, {})
            except Exception as exc:  # every payload must end in a refusal, recorded here
                outcomes.append(type(exc).__name__)
            else:
                outcomes.append("ran")


def test_requests_keep_answering_while_hostile_scripts_are_refused_and_stopped(
    client: FlaskClient,
) -> None:
    stop = threading.Event()
    outcomes: list[str] = []
    worker = threading.Thread(target=_run_hostile_payloads, args=(stop, outcomes), daemon=True)
    worker.start()
    answer_times = []
    try:
        for _ in range(10):
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
    assert outcomes and "ran" not in outcomes
    assert set(outcomes) <= {"ScriptLimitExceeded", "ScriptTimeoutError"}
