"""Two completions of one task at the same moment: exactly one wins, the other is a Conflict.

These tests commit for real (the row lock only matters between transactions), so they use
the session factory and delete what they created afterwards.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import instances
from engine.db import is_sqlite
from engine.db import make_engine
from engine.db import make_session_factory
from engine.errors import Conflict
from engine.models import AuditEvent
from engine.models import Certificate
from engine.models import HumanTask
from engine.models import InstanceParty
from engine.models import MessageSubscription
from engine.models import Organization
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import TimerProjection
from engine.models import User
from engine.settings import Settings
from tests.conftest import START
from tests.factories import deploy_fixture
from tests.factories import make_user

ORG = "YJS-RACE"
USERNAMES = ("race_a", "race_b")
PROCESS_ID = "seq_gateway"


@dataclass(frozen=True)
class Race:
    task_id: int
    instance_id: int


def _cleanup(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            # The audit trigger refuses DELETE; a superuser's test cleanup may skip triggers.
            session.execute(text("SET LOCAL session_replication_role = replica"))
        instance_ids = select(ProcessInstance.id).where(ProcessInstance.process_id == PROCESS_ID)
        for model in (AuditEvent, HumanTask, InstanceParty, TimerProjection, MessageSubscription):
            session.execute(delete(model).where(model.instance_id.in_(instance_ids)))
        session.execute(delete(ProcessInstance).where(ProcessInstance.process_id == PROCESS_ID))
        session.execute(delete(ProcessDefinition).where(ProcessDefinition.process_id == PROCESS_ID))
        user_ids = select(User.id).where(User.username.in_(USERNAMES))
        session.execute(delete(Certificate).where(Certificate.user_id.in_(user_ids)))
        session.execute(delete(User).where(User.username.in_(USERNAMES)))
        session.execute(delete(Organization).where(Organization.code == ORG))


@pytest.fixture
def race(session_factory: sessionmaker[Session], settings: Settings) -> Iterator[Race]:
    """A committed instance whose first task two users of one organization may complete."""
    _cleanup(session_factory)
    with session_factory.begin() as session:
        first, _second = (
            make_user(session, username=name, org_code=ORG, role=Role.OFFICER) for name in USERNAMES
        )
        deploy_fixture(session, PROCESS_ID)
        instance = instances.start_instance(
            session,
            process_id=PROCESS_ID,
            data={"subject": "并发", "agency_org": ORG},
            user=first,
            settings=settings,
            now=START,
        )
        task_id = session.scalars(
            select(HumanTask.id).where(HumanTask.instance_id == instance.id)
        ).one()
        # The first task goes to the initiator; open it to the whole organization for the race.
        session.execute(
            HumanTask.__table__.update()
            .where(HumanTask.__table__.c.id == task_id)
            .values(assignee_id=None, role=Role.OFFICER)
        )
        race = Race(task_id=task_id, instance_id=instance.id)
    yield race
    _cleanup(session_factory)


def _complete(
    factory: sessionmaker[Session], settings: Settings, task_id: int, username: str
) -> str:
    with factory() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        try:
            instances.complete_task(
                session,
                task_id=task_id,
                data={"amount": 500},
                user=user,
                settings=settings,
                now=START,
            )
            session.commit()
        except Conflict as exc:
            session.rollback()
            return f"conflict: {exc.message}"
    return "completed"


def _assert_one_winner(factory: sessionmaker[Session], race: Race, results: list[str]) -> None:
    assert sorted(results) == ["completed", f"conflict: task {race.task_id} is no longer open"]
    with factory() as session:
        completions = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.instance_id == race.instance_id, AuditEvent.kind == "task_completed")
        )
        statuses = session.scalars(
            select(HumanTask.status)
            .where(HumanTask.instance_id == race.instance_id)
            .order_by(HumanTask.id)
        ).all()
    assert completions == 1
    assert statuses == [TaskStatus.COMPLETED, TaskStatus.OPEN]


def test_two_threads_completing_one_task_give_one_completion_and_one_conflict(
    session_factory: sessionmaker[Session], settings: Settings, race: Race
) -> None:
    barrier = threading.Barrier(len(USERNAMES))
    results: list[str] = []

    def worker(username: str) -> None:
        barrier.wait()
        results.append(_complete(session_factory, settings, race.task_id, username))

    threads = [threading.Thread(target=worker, args=(name,)) for name in USERNAMES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    _assert_one_winner(session_factory, race, results)


def _process_worker(url: str, task_id: int, username: str, barrier: Any, results: Any) -> None:
    settings = Settings(database_url=url, script_time_budget_seconds=0.5)
    engine = make_engine(settings)
    try:
        barrier.wait()
        results.put(_complete(make_session_factory(engine), settings, task_id, username))
    finally:
        engine.dispose()


def test_two_processes_completing_one_task_give_one_completion_and_one_conflict(
    session_factory: sessionmaker[Session], settings: Settings, race: Race
) -> None:
    if is_sqlite(settings.database_url):
        pytest.skip(
            "needs PostgreSQL: SQLite serializes writers with BEGIN IMMEDIATE "
            "(covered by the thread test)"
        )
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(USERNAMES))
    queue = context.Queue()
    workers = [
        context.Process(
            target=_process_worker, args=(settings.database_url, race.task_id, name, barrier, queue)
        )
        for name in USERNAMES
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    assert [w.exitcode for w in workers] == [0, 0]
    _assert_one_winner(session_factory, race, results)
