"""Alembic migrations build exactly the schema the ORM models describe, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

from engine import migrate
from engine.db import make_engine
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
    assert version == "0005"
