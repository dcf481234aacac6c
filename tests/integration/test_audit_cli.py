"""`xietong audit verify`: exit 0 on an intact log, 1 and the first bad row on tampering."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from engine import audit
from engine.db import make_engine
from engine.db import make_session_factory
from engine.settings import Settings
from tests.integration.test_cli import xietong

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    xietong("db", "upgrade", database=path, check=True)
    return path


def _write_log(path: Path) -> list[int]:
    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    with make_session_factory(engine).begin() as session:
        rows = [
            audit.event_row(instance_id=None, kind="note", actor="admin", at=AT, detail={"n": n})
            for n in range(3)
        ]
        audit.append_events(session, rows)
        ids = list(session.scalars(text("SELECT id FROM audit_event ORDER BY id")))
    engine.dispose()
    return ids


def _execute(path: Path, statement: str, **params: object) -> None:
    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    with engine.begin() as connection:
        connection.execute(text(statement), params)
    engine.dispose()


def test_an_intact_log_exits_0(database: Path) -> None:
    _write_log(database)
    result = xietong("audit", "verify", database=database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact: 3 row(s)" in result.stdout


def test_a_changed_row_exits_1_and_names_it(database: Path) -> None:
    ids = _write_log(database)
    _execute(database, "UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=ids[1])
    result = xietong("audit", "verify", database=database)
    assert result.returncode == 1
    assert f"broken at audit_event {ids[1]} " in result.stdout


def test_verify_of_one_instance_reads_only_its_rows(database: Path) -> None:
    ids = _write_log(database)
    _execute(database, "UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=ids[0])
    result = xietong("audit", "verify", "12345", database=database)
    assert result.returncode == 0
    assert "intact: 0 row(s)" in result.stdout
