"""The audit log is append-only and hash-chained per instance; tampering is found.

On SQLite nothing stops a direct UPDATE, so the chain must find it; on PostgreSQL the trigger
refuses UPDATE, DELETE and TRUNCATE, and the chain still finds what a superuser does with
triggers switched off.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine import audit
from engine.cases import inbox
from engine.cases import instances
from engine.models import AuditEvent
from engine.models import AuditLogIsAppendOnly
from engine.models import OrgType
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import User
from engine.people import access
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import make_org
from tests.factories import make_user
from tests.integration.engine.conftest import AGENCY
from tests.integration.engine.support import open_tasks


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _tamper(session: Session, statement: str, **params: object) -> None:
    """What someone with database access does; on PostgreSQL, as a superuser skipping triggers."""
    if _is_postgres(session):
        session.execute(text("SET LOCAL session_replication_role = replica"))
    session.execute(text(statement), params)
    if _is_postgres(session):
        session.execute(text("SET LOCAL session_replication_role = origin"))


@pytest.fixture
def instance(session: Session, officer: User, settings: Settings, clock: Clock) -> ProcessInstance:
    """An instance with several audit rows: start, engine steps, a claim, a completed task."""
    make_org(session, code="YJS-GAJ", org_type=OrgType.POLICE, name="县公安局")
    police = make_user(session, username="police_a", org_code="YJS-GAJ", role=Role.OFFICER)
    deploy_fixture(session, "parallel_review")
    started = instances.start_instance(
        session,
        process_id="parallel_review",
        data={"agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    task = next(t for t in open_tasks(session, started.id) if t.bpmn_id == "police_opinion")
    inbox.claim_task(session, task_id=task.id, user=police)
    instances.complete_task(
        session,
        task_id=task.id,
        data={"police_view": "同意"},
        user=police,
        settings=settings,
        now=clock.now,
    )
    return started


def _chain(session: Session, instance_id: int) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
    return list(session.scalars(stmt))


def test_every_row_links_to_the_previous_one_of_its_instance(
    session: Session, instance: ProcessInstance
) -> None:
    rows = _chain(session, instance.id)
    kinds = [r.kind for r in rows]
    assert {"instance_started", "task_claimed", "task_completed"} <= set(kinds)
    assert rows[0].prev_hash is None
    assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
    report = audit.verify(session, instance.id)
    assert report.broken is None
    assert report.rows == len(rows)


def test_a_changed_row_is_the_first_bad_row(session: Session, instance: ProcessInstance) -> None:
    rows = _chain(session, instance.id)
    target = rows[1]
    _tamper(session, "UPDATE audit_event SET actor = 'someone_else' WHERE id = :id", id=target.id)
    report = audit.verify(session, instance.id)
    assert report.broken is not None
    assert report.broken.event_id == target.id
    assert "changed" in report.broken.reason


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(
    session: Session, instance: ProcessInstance
) -> None:
    rows = _chain(session, instance.id)
    target = rows[0]
    forged = dict(audit.event_row(instance_id=instance.id, kind="forged", actor="x", at=target.at))
    new_hash = audit.row_hash(forged, None)
    _tamper(
        session,
        "UPDATE audit_event SET kind = 'forged', actor = 'x', data_after = NULL, row_hash = :h "
        "WHERE id = :id",
        h=new_hash,
        id=target.id,
    )
    report = audit.verify(session, instance.id)
    assert report.broken is not None
    assert report.broken.event_id == rows[1].id
    assert "removed or reordered" in report.broken.reason


def test_a_deleted_row_breaks_the_chain_at_its_successor(
    session: Session, instance: ProcessInstance
) -> None:
    rows = _chain(session, instance.id)
    _tamper(session, "DELETE FROM audit_event WHERE id = :id", id=rows[1].id)
    report = audit.verify(session)
    assert report.broken is not None
    assert report.broken.event_id == rows[2].id
    assert report.broken.instance_id == instance.id


def test_the_orm_refuses_to_change_or_delete_audit_rows(
    session: Session, instance: ProcessInstance
) -> None:
    row = _chain(session, instance.id)[0]
    savepoint = session.begin_nested()
    row.actor = "someone_else"
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    savepoint.rollback()
    savepoint = session.begin_nested()
    session.delete(row)
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    savepoint.rollback()
    assert audit.verify(session, instance.id).broken is None


@pytest.mark.postgres_only
def test_postgresql_refuses_update_delete_and_truncate_of_audit_rows(
    session: Session, instance: ProcessInstance
) -> None:
    if not _is_postgres(session):
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    first = _chain(session, instance.id)[0].id
    statements = (
        update(AuditEvent).where(AuditEvent.id == first).values(actor="x"),
        delete(AuditEvent).where(AuditEvent.id == first),
        text("TRUNCATE audit_event CASCADE"),
    )
    for statement in statements:
        savepoint = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
        savepoint.rollback()
    assert audit.verify(session, instance.id).broken is None


def test_a_confidential_read_is_chained(session: Session, instance: ProcessInstance) -> None:
    reader = session.get(User, instance.started_by_id)
    assert reader is not None
    instance.confidential = True
    session.flush()
    access.record_confidential_read(session, reader, instance)
    rows = _chain(session, instance.id)
    assert rows[-1].kind == access.CONFIDENTIAL_READ
    assert rows[-1].prev_hash == rows[-2].row_hash
    assert audit.verify(session, instance.id).broken is None
