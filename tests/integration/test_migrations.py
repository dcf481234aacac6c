"""Alembic migrations build exactly the schema the ORM models describe, on both databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

from engine import audit
from engine import migrate
from engine.db import make_engine
from engine.db import make_session_factory
from engine.model_registry import metadata
from engine.settings import Settings


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database nobody else uses: a temp SQLite file, or a fresh PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"xietong_migration_{uuid.uuid4().hex[:8]}"
    server = make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name, query={}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_to_head_matches_the_models(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata())
    engine.dispose()
    assert differences == []


def test_upgrade_twice_changes_nothing(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert (
        version == ScriptDirectory.from_config(migrate.alembic_config(settings)).get_current_head()
    )


def test_the_upgrade_chains_existing_audit_rows(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings, "0001")
    engine = make_engine(settings)
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(
                text(
                    "INSERT INTO audit_event (kind, actor, at, detail) "
                    "VALUES ('note', 'admin', :at, :detail)"
                ),
                {"at": datetime(2026, 3, 2, 1, n, tzinfo=UTC), "detail": json.dumps({"n": n})},
            )
    migrate.upgrade(settings)
    with make_session_factory(engine).begin() as session:
        report = audit.verify(session)
        hashes = list(session.scalars(text("SELECT prev_hash FROM audit_event ORDER BY id")))
    engine.dispose()
    assert report.rows == 3
    assert report.broken is None
    assert hashes[0] is None
    assert all(hashes[1:])


def test_waiting_correlate_on_rows_keep_their_values_as_correlation_rows(
    empty_database_url: str,
) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings, "0001")
    engine = make_engine(settings)
    moment = "2026-01-01 00:00:00+00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO process_definition (id, process_id, version, spec_hash, name,"
                " files, forms, manifest, deployed_at, deployed_by)"
                " VALUES (1, 'p', 1, 'h', 'p', '{}', '{}', '{}', :at, 'x')"
            ),
            {"at": moment},
        )
        connection.execute(
            text(
                "INSERT INTO process_instance (id, definition_id, spec_hash, process_id, title,"
                " status, state_json, serializer_version, last_progress_at, confidential,"
                " started_at, updated_at, waits, party_orgs, clocks, lock_version)"
                " VALUES (1, 1, 'h', 'p', 't', 'waiting', '{}', '1.5', :at, false, :at, :at,"
                " '{}', '[]', '{}', 1)"
            ),
            {"at": moment},
        )
        connection.execute(
            text(
                "INSERT INTO message_subscription (id, instance_id, message_name, correlation,"
                " since) VALUES (1, 1, 'police_receipt', :corr, :at), (2, 1, 'other', '{}', :at)"
            ),
            {"corr": '{"case_no": "A-1"}', "at": moment},
        )
    migrate.upgrade(settings)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT subscription_id, message_name, key_name, property, value"
                " FROM message_correlation"
            )
        ).all()
        kinds = connection.execute(
            text("SELECT id, kind FROM message_subscription ORDER BY id")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(1, "police_receipt", "legacy", "case_no", '"A-1"')]
    assert [tuple(k) for k in kinds] == [(1, "message"), (2, "message")]
