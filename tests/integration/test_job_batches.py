"""Flag jobs handle more candidates than one batch, a batch at a time, and each only once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.execution import definitions
from engine.models import ProcessInstance
from engine.monitoring import flags
from engine.monitoring import stalls
from engine.monitoring.deadline_flags import update_deadline_flags
from engine.monitoring.models import FlagKind
from engine.monitoring.notifications import Notification
from engine.monitoring.stalls import update_stall_flags
from tests.integration.test_flags import REVIEW_DUE
from tests.integration.test_flags import START
from tests.integration.test_flags import Env
from tests.integration.test_flags import all_flags
from tests.integration.test_flags import isolated_env
from tests.integration.test_flags import postgres_url
from tests.integration.test_flags import start_case

CASES = 7
BATCH = 3  # CASES spans three batches, the last one partial


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setattr(definitions, "_DEFINITIONS", {})  # definition ids restart per database
    with isolated_env(tmp_path) as created:
        yield replace(created, settings=created.settings.with_overrides(job_batch_size=BATCH))


@pytest.fixture
def cases(env: Env) -> list[int]:
    return [start_case(env, f"B-{n}", START) for n in range(CASES)]


def test_the_stall_job_flags_every_case_across_batches_once(env: Env, cases: list[int]) -> None:
    late = START + timedelta(days=4)

    assert update_stall_flags(env.factory, late, env.settings) == CASES
    assert update_stall_flags(env.factory, late, env.settings) == 0

    stalled = [f.instance_id for f in all_flags(env) if f.kind == FlagKind.STALLED]
    assert sorted(stalled) == sorted(cases)


def test_the_stall_job_reads_only_instances_past_a_threshold(env: Env, cases: list[int]) -> None:
    # The review task waits 72 h (the default); record_receipt's 24 h does not apply yet.
    assert update_stall_flags(env.factory, START + timedelta(hours=23), env.settings) == 0
    assert update_stall_flags(env.factory, START + timedelta(hours=30), env.settings) == 0
    assert update_stall_flags(env.factory, START + timedelta(hours=72), env.settings) == CASES


def test_the_deadline_job_flags_every_task_across_batches_once(env: Env, cases: list[int]) -> None:
    late = REVIEW_DUE + timedelta(seconds=1)

    assert update_deadline_flags(env.factory, late, env.settings) == CASES
    assert update_deadline_flags(env.factory, late, env.settings) == 0

    red = [f.instance_id for f in all_flags(env) if f.kind == FlagKind.RED]
    assert sorted(red) == sorted(cases)


def test_escalation_and_clearing_work_through_every_batch(env: Env, cases: list[int]) -> None:
    late = REVIEW_DUE + timedelta(seconds=1)
    update_deadline_flags(env.factory, late, env.settings)
    week_later = late + timedelta(days=7)

    flags.escalate(env.factory, week_later, env.settings)

    assert {f.level for f in all_flags(env)} == {2}
    with env.factory.begin() as session:
        session.execute(
            ProcessInstance.__table__.update().values(status="cancelled")  # type: ignore[attr-defined]
        )
    assert flags.clear_flags(env.factory, week_later, env.settings) == CASES
    assert all(f.cleared_at == week_later for f in all_flags(env))
    with env.factory.begin() as session:
        levels = session.scalars(select(func.count()).select_from(Notification)).one()
    assert levels > CASES  # level 0 and the two escalations of every flag


COPIES = 66_000  # more ids than PostgreSQL's 65,535 bind parameters


@pytest.mark.postgres_only
@pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL (XIETONG_TEST_DATABASE_URL)")
def test_the_stall_job_survives_more_candidates_than_bind_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with isolated_env(tmp_path) as env:
        source = start_case(env, "BIG-1", START)
        now = START + timedelta(hours=80)
        with env.factory.begin() as session:
            # Copies waiting on nothing the projections know: stalled past the 72 h default.
            session.execute(
                text(
                    "INSERT INTO process_instance (definition_id, spec_hash, process_id, title,"
                    " status, state_json, serializer_version, last_progress_at, started_org,"
                    " confidential, started_at, updated_at, waits, party_orgs, clocks,"
                    " lock_version) SELECT definition_id, spec_hash, process_id, title, status,"
                    " state_json, serializer_version, last_progress_at, started_org,"
                    " confidential, started_at, updated_at, '{}', party_orgs, clocks, 1"
                    " FROM process_instance, generate_series(1, :copies) WHERE id = :id"
                ),
                {"copies": COPIES, "id": source},
            )
        with env.factory.begin() as session:
            session.execute(text("ANALYZE process_instance"))
        flagged: list[int] = []
        batches: list[int] = []
        read_tasks = stalls._open_tasks

        def count_batch(session: Session, instance_ids: list[int]) -> Any:
            batches.append(len(instance_ids))
            return read_tasks(session, instance_ids)

        def record(session: Session, row: Any, wait: stalls.Wait, at: datetime) -> bool:
            flagged.append(row.id)  # raising 66,000 real flags would take minutes
            return True

        monkeypatch.setattr(stalls, "_open_tasks", count_batch)
        monkeypatch.setattr(stalls, "_raise_stall_flag", record)

        raised = stalls.update_stall_flags(env.factory, now, env.settings)

        assert raised == len(flagged) == len(set(flagged)) == COPIES + 1
        assert max(batches) == env.settings.job_batch_size
        assert sum(batches) == COPIES + 1
