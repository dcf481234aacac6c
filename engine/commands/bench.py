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
    """Count SQL statements (BEGIN included, and also counted alone) and commits on an engine
    while the block runs."""
    counts = {"statements": 0, "begins": 0, "commits": 0}

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counts["statements"] += 1
        counts["begins"] += statement.startswith("BEGIN")

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


@dataclass
class EngineResult:
    """The engine-only figures of one run: the floor, the rows, statements per completion."""

    where: str
    base: Figures
    rows: list[Figures]
    counts: dict[str, int]

    @property
    def completion(self) -> Figures:
        return self.rows[1]


def measure_engine(bench: Bench, where: str, rounds: int) -> EngineResult:
    """The engine-only figures on the bench's database."""
    base = floor(rounds)
    start = Figures("start an instance (commit)", _timed(bench.start, rounds))
    complete = Figures("complete one user task (commit)", _complete_samples(bench, rounds))
    e2e = Figures("5-user-task instance end to end", _timed(bench.run_to_end, max(10, rounds // 5)))
    return EngineResult(where, base, [start, complete, e2e], _statements_per_completion(bench))


@contextmanager
def bench_database(database_url: str | None) -> Iterator[tuple[Settings, str]]:
    """Migrated settings for the given database, or for a temporary SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, run_scheduler_in_process=False)
        migrate.upgrade(settings)
        yield settings, url if database_url else "sqlite (temp file)"


def run(*, database_url: str | None, rounds: int) -> str:
    """Run the engine benchmark and return the printed report."""
    with bench_database(database_url) as (settings, where):
        bench = Bench(settings)
        result = measure_engine(bench, where, rounds)
        bench.engine.dispose()
    return report(result)


def report(result: EngineResult) -> str:
    """The engine part of the printed report."""
    base = result.base
    lines = [
        f"xietong bench on {result.where}",
        f"{'operation':<52}{'median ms':>11}{'p95 ms':>10}{'x floor':>9}",
    ]
    for figures in [base, *result.rows]:
        ratio = figures.median / base.median if base.median else float("nan")
        lines.append(f"{figures.name:<52}{figures.median:>11.2f}{figures.p95:>10.2f}{ratio:>9.1f}")
    lines.append(
        f"per task completion: {result.counts['statements']} SQL statements (incl. BEGIN), "
        f"{result.counts['commits']} commit(s)"
    )
    return "\n".join(lines) + "\n"
