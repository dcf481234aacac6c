"""`xietong bench`: engine steps with real commits against the raw SpiffWorkflow floor.

The floor is the same model in memory with the same serializer and cached specs:
deserialize, complete one user task, run engine steps, serialize. The ratio shows what
persistence, projections and locking cost on top of SpiffWorkflow itself.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine import migrate
from engine.cases import instances
from engine.db import make_engine
from engine.db import make_session_factory
from engine.execution import catalog
from engine.execution import processes
from engine.execution import store
from engine.execution.uploads import UploadedFile
from engine.execution.uploads import bundles_from_files
from engine.models import HumanTask
from engine.models import Organization
from engine.models import OrgType
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.settings import Settings

PROCESS_ID = "bench_five_tasks"


@dataclass
class Figures:
    name: str
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def _model() -> bytes:
    return resources.files("engine.commands").joinpath("data", f"{PROCESS_ID}.bpmn").read_bytes()


def _timed(func: Callable[[], Any], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return samples


def floor(rounds: int) -> Figures:
    """Raw SpiffWorkflow per-step cost for the same model, in memory."""
    upload = UploadedFile(f"{PROCESS_ID}.bpmn", _model())
    parsed = catalog.parse_bundle(bundles_from_files([upload])[0])
    from SpiffWorkflow import TaskState
    from SpiffWorkflow.bpmn import BpmnWorkflow

    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.do_engine_steps()
    state = store.dump_state(workflow)

    def step() -> None:
        wf = store.load_state(state, parsed, store.SERIALIZER_VERSION)
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        task.data["note"] = "x"
        task.run()
        wf.refresh_timers()
        wf.do_engine_steps()
        store.dump_state(wf)

    step()
    return Figures("SpiffWorkflow floor (deserialize + run + serialize)", _timed(step, rounds))


def _setup(factory: sessionmaker[Session]) -> int:
    with factory.begin() as session:
        if session.get(Organization, "BENCH") is None:
            session.add(Organization(code="BENCH", type=OrgType.AGENCY, name="基准机关"))
            session.flush()
            session.add(User(username="bench_officer", org_code="BENCH", role=Role.OFFICER))
        upload = UploadedFile(f"{PROCESS_ID}.bpmn", _model())
        definition, _created = processes.deploy_files(session, [upload], actor="bench")[0]
        definition.manifest = {**definition.manifest, "start_roles": [Role.OFFICER]}
        user = session.scalar(select(User).where(User.username == "bench_officer"))
        assert user is not None  # noqa: S101 - created above
        return user.id


@contextmanager
def counting(engine: Engine) -> Iterator[dict[str, int]]:
    """Count SQL statements and commits on an engine while the block runs."""
    counts = {"statements": 0, "commits": 0}

    def on_execute(*_args: Any) -> None:
        counts["statements"] += 1

    def on_commit(*_args: Any) -> None:
        counts["commits"] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


class Bench:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.factory = make_session_factory(self.engine)
        self.user_id = _setup(self.factory)

    def start(self) -> int:
        with self.factory.begin() as session:
            user = session.get(User, self.user_id)
            instance = instances.start_instance(
                session, process_id=PROCESS_ID, data={}, user=user, settings=self.settings
            )
            return instance.id

    def open_task(self, instance_id: int) -> int | None:
        with self.factory() as session:
            return session.scalar(
                select(HumanTask.id).where(
                    HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN
                )
            )

    def complete(self, task_id: int, timings: list[float] | None = None) -> None:
        """Complete a task; when `timings` is given, time the engine call and commit only."""
        with self.factory() as session:
            user = session.get(User, self.user_id)
            assert user is not None  # noqa: S101 - created in _setup
            session.commit()
            started = time.perf_counter()
            instances.complete_task(
                session, task_id=task_id, data={"note": "x"}, user=user, settings=self.settings
            )
            session.commit()
            if timings is not None:
                timings.append(time.perf_counter() - started)

    def run_to_end(self) -> None:
        instance_id = self.start()
        task_id = self.open_task(instance_id)
        while task_id is not None:
            self.complete(task_id)
            task_id = self.open_task(instance_id)


def _complete_samples(bench: Bench, rounds: int) -> list[float]:
    timings: list[float] = []
    for _ in range(rounds):
        task_id = bench.open_task(bench.start())
        assert task_id is not None  # noqa: S101 - the model starts with a user task
        bench.complete(task_id, timings)
    return timings


def _statements_per_completion(bench: Bench) -> dict[str, int]:
    task_id = bench.open_task(bench.start())
    assert task_id is not None  # noqa: S101 - the model starts with a user task
    with bench.factory() as session:
        user = session.get(User, bench.user_id)
        assert user is not None  # noqa: S101 - created in _setup
        session.commit()
        with counting(bench.engine) as counts:
            instances.complete_task(
                session, task_id=task_id, data={"note": "x"}, user=user, settings=bench.settings
            )
            session.commit()
    return counts


def run(*, database_url: str | None, rounds: int) -> str:
    """Run the benchmark and return the printed report."""
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url)
        migrate.upgrade(settings)
        bench = Bench(settings)
        base = floor(rounds)
        start = Figures("start an instance (commit)", _timed(bench.start, rounds))
        complete = Figures("complete one user task (commit)", _complete_samples(bench, rounds))
        e2e = Figures(
            "5-user-task instance end to end", _timed(bench.run_to_end, max(10, rounds // 5))
        )
        counts = _statements_per_completion(bench)
        bench.engine.dispose()
    return _report(
        url if database_url else "sqlite (temp file)", base, [start, complete, e2e], counts
    )


def _report(where: str, base: Figures, rows: list[Figures], counts: dict[str, int]) -> str:
    lines = [
        f"xietong bench on {where}",
        f"{'operation':<52}{'median ms':>11}{'p95 ms':>10}{'x floor':>9}",
    ]
    for figures in [base, *rows]:
        ratio = figures.median / base.median if base.median else float("nan")
        lines.append(f"{figures.name:<52}{figures.median:>11.2f}{figures.p95:>10.2f}{ratio:>9.1f}")
    lines.append(
        f"per task completion: {counts['statements']} SQL statements (incl. BEGIN), "
        f"{counts['commits']} commit(s)"
    )
    return "\n".join(lines) + "\n"
