"""A task completion costs a fixed handful of statements: the lock, state, projections, audit
chain head and audit rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.conftest import AGENCY
from tests.integration.engine.support import open_tasks


@contextmanager
def recorded_statements(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    connection = session.connection()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(_summary(statement))

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", record)


def _summary(statement: str) -> str:
    words = statement.split()
    verb = words[0]
    if verb == "SELECT":
        return f"SELECT {words[words.index('FROM') + 1]}"
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    return " ".join(words[:3])


def test_completing_a_task_that_opens_the_next_one_costs_six_statements(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "seq_gateway")
    instance = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "x", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    [fill] = open_tasks(session, instance.id)
    session.refresh(officer)  # open_tasks expired it; a request loads its user before acting

    with recorded_statements(session) as statements:
        instances.complete_task(
            session,
            task_id=fill.id,
            data={"amount": 500},
            user=officer,
            settings=settings,
            now=clock.now,
        )

    assert statements == [
        "SELECT human_task",  # the task joined with its instance, both locked
        "UPDATE process_instance",
        "UPDATE human_task",
        "INSERT human_task",
        "SELECT audit_event",  # the instance's last audit hash, to chain the new rows
        "INSERT audit_event",
    ]
