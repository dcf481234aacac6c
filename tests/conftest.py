"""Root fixtures: the test database, a rolled-back session per test, settings and a clock.

The database comes from XIETONG_TEST_DATABASE_URL (for example
postgresql://postgres@127.0.0.1:5432/test, where each test session works in a schema of its
own); without it every test session gets a fresh temporary SQLite file. Modules that need
other fixtures define them next to their tests.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from sqlalchemy import Engine
from sqlalchemy import MetaData
from sqlalchemy import make_url
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from engine.db import Base
from engine.db import make_engine
from engine.db import make_session_factory
from engine.execution import definitions
from engine.settings import Settings

TEST_DATABASE_ENV = "XIETONG_TEST_DATABASE_URL"
# Every module that declares tables on Base; the ones not (yet) in the tree are skipped.
MODEL_MODULES = (
    "engine.models",
    "engine.deadlines.calendar",
    "engine.planning.models",
    "engine.monitoring.flags",
    "engine.monitoring.notifications",
    "engine.monitoring.lease",
    "engine.monitoring.job_runs",
)
SCRIPT_BUDGET_SECONDS = 0.5
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL every database fixture uses.

    On PostgreSQL each test session gets its own schema of the configured database, so that
    two engineers (or CI jobs) running the suite against one server never drop each other's
    tables mid-run.
    """
    configured = os.environ.get(TEST_DATABASE_ENV)
    if not configured:
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"
    elif configured.startswith("postgresql"):
        with _private_schema(configured) as url:
            yield url
    else:
        yield configured


@contextmanager
def _private_schema(url: str) -> Iterator[str]:
    schema = f"xietong_test_{uuid4().hex[:12]}"
    admin = make_engine(Settings(database_url=url), poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '30s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def base_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        script_time_budget_seconds=SCRIPT_BUDGET_SECONDS,
        run_scheduler_in_process=False,
    )


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """Settings pointing at the test database, with a short script time budget."""
    return base_settings


@pytest.fixture(scope="session")
def db_engine(base_settings: Settings) -> Iterator[Engine]:
    """One engine for the test session; every table of every model module, freshly created."""
    for name in MODEL_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    db = make_engine(base_settings)
    # Drop what the database holds, not what this run imported: an earlier run may have
    # created tables (with foreign keys into ours) from modules this run never loads.
    existing = MetaData()
    existing.reflect(db)
    existing.drop_all(db)
    Base.metadata.create_all(db)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    """Sessions that really commit (threads, processes): clean up what you create."""
    return make_session_factory(db_engine)


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session whose commits land in savepoints of an outer transaction rolled back after."""
    connection = db_engine.connect()
    outer = connection.begin()
    db_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def _fresh_definition_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner caches definition facts by row id; rolled-back tests reuse ids on SQLite.
    monkeypatch.setattr(definitions, "_DEFINITIONS", {})


class Clock:
    """A controllable `now`: pass `clock.now` to services; SpiffWorkflow timers read it too."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A clock at START; SpiffWorkflow's timer module sees the same time (SPIFFWORKFLOW.md §4.3)."""
    current = Clock(START)

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz: object = None) -> ClockDatetime:  # type: ignore[override]
            moment = current.now if tz is None else current.now.astimezone(tz)  # type: ignore[arg-type]
            return cls.fromtimestamp(moment.timestamp(), moment.tzinfo)

    monkeypatch.setattr(spiff_timer, "datetime", ClockDatetime)
    return current
