"""Flag jobs with a controllable `now`: yellow, red, stalled, clearing, escalation, idempotency.

Every test gets its own database (a temporary SQLite file, or a fresh schema when
XIETONG_TEST_DATABASE_URL points at PostgreSQL) because the jobs commit for real.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine import model_registry
from engine.cases import instances
from engine.cases import messages
from engine.db import make_engine
from engine.db import make_session_factory
from engine.deadlines import calendar as work_calendar
from engine.deadlines import clocks
from engine.errors import Conflict
from engine.errors import NotFound
from engine.execution import catalog
from engine.execution import definitions
from engine.execution import processes
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import OrgType
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.monitoring import flags
from engine.monitoring import jobs
from engine.monitoring import stalls
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.notifications import Notification
from engine.settings import Settings
from tests.factories import make_org
from tests.factories import make_user

if TYPE_CHECKING:
    from tests.conftest import Clock

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing, as the root `clock`
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flags"
AGENCY = "YJS-SCJGJ"
JUSTICE = "YJS-SFJ"
GOVERNMENT = "YJS-ZF"
# 2026-03-05 is day 3 after the Monday trigger; its end in Beijing time, as UTC.
REVIEW_DUE = datetime(2026, 3, 5, 15, 59, 59, 999999, tzinfo=UTC)


@dataclass
class Env:
    settings: Settings
    factory: sessionmaker[Session]


def postgres_url() -> str | None:
    """The configured test database when it is PostgreSQL."""
    configured = os.environ.get("XIETONG_TEST_DATABASE_URL", "")
    return configured if configured.startswith("postgresql") else None


@contextmanager
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh temporary SQLite file, or a fresh schema of the PostgreSQL test database."""
    configured = postgres_url()
    if configured is None:
        yield f"sqlite:///{tmp_path / 'flags.db'}"
        return
    schema = f"test_flags_{uuid4().hex[:12]}"
    admin = create_engine(configured.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(configured).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def isolated_env(tmp_path: Path) -> Iterator[Env]:
    """A fresh database with the flag fixtures deployed and the county's people seeded."""
    with database_url(tmp_path) as url:
        settings = Settings(
            database_url=url, run_scheduler_in_process=False, script_time_budget_seconds=0.5
        )
        db = make_engine(settings)
        try:
            model_registry.metadata().create_all(db)
            factory = make_session_factory(db)
            with factory.begin() as session:
                seed(session)
            yield Env(settings, factory)
        finally:
            db.dispose()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setattr(definitions, "_DEFINITIONS", {})  # definition ids restart per database
    with isolated_env(tmp_path) as created:
        yield created


def seed(session: Session) -> None:
    make_org(session, code=AGENCY, org_type=OrgType.AGENCY, name="县市场监督管理局")
    make_org(session, code=JUSTICE, org_type=OrgType.JUSTICE_BUREAU, name="县司法局")
    make_org(session, code=GOVERNMENT, org_type=OrgType.COUNTY_GOVERNMENT, name="县人民政府")
    make_user(session, username="zhangsan", org_code=AGENCY, role=Role.OFFICER)
    make_user(session, username="lisi", org_code=AGENCY, role=Role.OFFICER, display_name="李四")
    make_user(session, username="wangwu", org_code=AGENCY, role=Role.OFFICER, active=False)
    make_user(session, username="zhao_head", org_code=AGENCY, role=Role.HEAD)
    make_user(session, username="qian_coord", org_code=JUSTICE, role=Role.COORDINATOR)
    make_user(session, username="zhou_head", org_code=JUSTICE, role=Role.HEAD)
    make_user(session, username="sun_coord", org_code=GOVERNMENT, role=Role.COORDINATOR)
    processes.deploy_folders(
        session, [FIXTURES / "flag_demo", FIXTURES / "timer_demo"], actor="tester"
    )


def _user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def start_case(env: Env, case_no: str, now: datetime, process_id: str = "flag_demo") -> int:
    with env.factory.begin() as session:
        instance = instances.start_instance(
            session,
            process_id=process_id,
            data={"case_no": case_no, "agency_org": AGENCY},
            user=_user(session, "zhangsan"),
            settings=env.settings,
            now=now,
        )
        return instance.id


def open_task(env: Env, instance_id: int) -> HumanTask:
    with env.factory.begin() as session:
        return session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN
            )
        ).one()


def complete(
    env: Env, task_id: int, data: dict[str, str], now: datetime, username: str = "zhangsan"
) -> None:
    with env.factory.begin() as session:
        instances.complete_task(
            session,
            task_id=task_id,
            data=data,
            user=_user(session, username),
            settings=env.settings,
            now=now,
        )


def run_jobs(env: Env, now: datetime) -> dict[str, int]:
    """One scheduler round of the flag jobs, in the order the lead's scheduler may run them."""
    return {
        name: func(env.factory, now, env.settings)
        for name, (func, _seconds) in flags.scheduler_jobs(env.settings).items()
    }


def all_flags(env: Env) -> list[Flag]:
    with env.factory.begin() as session:
        return list(session.scalars(select(Flag).order_by(Flag.id)))


def deadline_flags(env: Env) -> list[Flag]:
    return [f for f in all_flags(env) if f.kind in (FlagKind.YELLOW, FlagKind.RED)]


def notified(env: Env) -> set[tuple[str, int, int]]:
    """(username, flag id, level) of every notification."""
    with env.factory.begin() as session:
        rows = session.execute(
            select(User.username, Notification.flag_id, Notification.level).join(
                User, User.id == Notification.user_id
            )
        )
        return {(row.username, row.flag_id, row.level) for row in rows}


def counts(env: Env) -> tuple[int, int]:
    with env.factory.begin() as session:
        return (
            session.scalar(select(func.count(Flag.id))) or 0,
            session.scalar(select(func.count(Notification.id))) or 0,
        )


def test_review_task_has_the_statutory_deadline(env: Env) -> None:
    instance_id = start_case(env, "JD-1", START)

    task = open_task(env, instance_id)

    assert task.due_at == REVIEW_DUE
    assert task.warn_at is not None and START < task.warn_at < REVIEW_DUE


def test_yellow_at_warn_at_then_red_after_due(env: Env) -> None:
    instance_id = start_case(env, "JD-2", START)
    task = open_task(env, instance_id)
    assert task.warn_at is not None

    run_jobs(env, task.warn_at - timedelta(minutes=1))
    assert all_flags(env) == []

    run_jobs(env, task.warn_at)
    [yellow] = all_flags(env)
    assert (yellow.kind, yellow.task_id, yellow.cleared_at) == (FlagKind.YELLOW, task.id, None)
    assert yellow.reason == (
        "「负责人审批」即将到期（3日，依据《行政执法机关移送涉嫌犯罪案件的规定》第五条），"
        "期限将于2026-03-05 23:59届满"
    )
    assert notified(env) == {("zhangsan", yellow.id, 0), ("lisi", yellow.id, 0)}

    run_jobs(env, REVIEW_DUE)
    assert [f.kind for f in deadline_flags(env)] == [FlagKind.YELLOW]

    after_due = REVIEW_DUE + timedelta(seconds=1)
    run_jobs(env, after_due)
    yellow, red = deadline_flags(env)
    assert yellow.cleared_at == after_due
    assert (red.kind, red.task_id, red.cleared_at, red.level) == (FlagKind.RED, task.id, None, 0)
    assert red.reason == (
        "「负责人审批」已超过法定期限（3日，依据《行政执法机关移送涉嫌犯罪案件的规定》第五条），"
        "期限已于2026-03-05 23:59届满"
    )
    assert {n for n in notified(env) if n[1] == red.id} == {
        ("zhangsan", red.id, 0),
        ("lisi", red.id, 0),
    }


def test_late_scheduler_raises_only_red(env: Env) -> None:
    instance_id = start_case(env, "JD-3", START)

    run_jobs(env, REVIEW_DUE + timedelta(days=1))

    task_id = open_task(env, instance_id).id
    assert [(f.kind, f.task_id) for f in deadline_flags(env)] == [(FlagKind.RED, task_id)]


def test_every_job_is_idempotent(env: Env) -> None:
    start_case(env, "JD-4", START)
    late = REVIEW_DUE + timedelta(days=10)
    first = run_jobs(env, late)
    assert first["update_deadline_flags"] == 1
    assert first["update_stall_flags"] == 1
    before = counts(env)

    second = run_jobs(env, late)

    assert counts(env) == before
    assert set(second.values()) == {0}


def test_flags_clear_when_the_step_completes(env: Env) -> None:
    instance_id = start_case(env, "JD-5", START)
    task = open_task(env, instance_id)
    after_due = REVIEW_DUE + timedelta(hours=1)
    run_jobs(env, after_due)
    red = next(f for f in all_flags(env) if f.kind == FlagKind.RED)

    complete(env, task.id, {"decision": "移送"}, after_due + timedelta(minutes=5))
    cleared_at = after_due + timedelta(minutes=6)
    run_jobs(env, cleared_at)

    red = next(f for f in all_flags(env) if f.id == red.id)
    assert red.cleared_at == cleared_at
    assert [f for f in all_flags(env) if f.cleared_at is None] == []


def test_stalled_while_waiting_for_another_agency(env: Env) -> None:
    instance_id = start_case(env, "JD-6", START)
    handed_over = START + timedelta(hours=2)
    complete(env, open_task(env, instance_id).id, {"decision": "移送"}, handed_over)
    with env.factory.begin() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.WAITING
        assert (
            session.scalar(
                select(func.count(HumanTask.id)).where(HumanTask.status == TaskStatus.OPEN)
            )
            == 0
        )

    run_jobs(env, handed_over + timedelta(hours=47, minutes=59))
    assert all_flags(env) == []

    run_jobs(env, handed_over + timedelta(hours=48))
    [stalled] = all_flags(env)
    assert (stalled.kind, stalled.task_id, stalled.since) == (FlagKind.STALLED, None, handed_over)
    assert stalled.reason == "等待公安机关回执已超过 48 小时未有进展"
    assert notified(env) == {("zhangsan", stalled.id, 0)}


def test_stall_clears_on_progress_and_recurs_with_the_next_threshold(env: Env) -> None:
    instance_id = start_case(env, "JD-7", START)
    handed_over = START + timedelta(hours=2)
    complete(env, open_task(env, instance_id).id, {"decision": "移送"}, handed_over)
    run_jobs(env, handed_over + timedelta(hours=49))
    received = handed_over + timedelta(hours=50)
    with env.factory.begin() as session:
        messages.deliver_message(
            session,
            name="police_receipt",
            correlation={"case_no": "JD-7"},
            payload={"receipt_no": "GA-1"},
            actor="police",
            settings=env.settings,
            now=received,
        )

    run_jobs(env, received + timedelta(hours=23))
    first = all_flags(env)
    assert [(f.kind, f.cleared_at) for f in first] == [
        (FlagKind.STALLED, received + timedelta(hours=23))
    ]

    run_jobs(env, received + timedelta(hours=24))
    old, new = all_flags(env)
    assert old.dedupe_key != new.dedupe_key
    assert (new.since, new.task_id) == (received, open_task(env, instance_id).id)
    assert new.reason == "「登记回执」已超过 24 小时未有进展"


def test_escalation_ladder_notifies_each_level_once(env: Env) -> None:
    instance_id = start_case(env, "JD-8", START)
    raised = REVIEW_DUE + timedelta(seconds=1)  # Friday 00:00 in Beijing
    run_jobs(env, raised)
    red = next(f for f in all_flags(env) if f.kind == FlagKind.RED)
    levels = {0: {"zhangsan", "lisi"}}

    def expected() -> set[tuple[str, int, int]]:
        return {(name, red.id, level) for level, names in levels.items() for name in names}

    run_jobs(env, datetime(2026, 3, 8, 15, 59, tzinfo=UTC))  # Sunday 23:59: no working day yet
    assert {n for n in notified(env) if n[1] == red.id} == expected()

    run_jobs(env, datetime(2026, 3, 8, 16, 1, tzinfo=UTC))  # Monday 00:01: one working day
    levels[1] = {"zhao_head"}
    assert {n for n in notified(env) if n[1] == red.id} == expected()

    run_jobs(env, datetime(2026, 3, 10, 15, 59, tzinfo=UTC))
    assert {n for n in notified(env) if n[1] == red.id} == expected()

    wednesday = datetime(2026, 3, 10, 16, 1, tzinfo=UTC)  # three working days after Friday
    run_jobs(env, wednesday)
    run_jobs(env, wednesday)
    levels[2] = {"qian_coord"}
    assert {n for n in notified(env) if n[1] == red.id} == expected()
    assert next(f for f in all_flags(env) if f.id == red.id).level == 2
    assert open_task(env, instance_id).status == TaskStatus.OPEN


def test_cleared_flags_do_not_escalate(env: Env) -> None:
    instance_id = start_case(env, "JD-9", START)
    raised = REVIEW_DUE + timedelta(hours=1)
    run_jobs(env, raised)
    complete(env, open_task(env, instance_id).id, {"decision": "移送"}, raised + timedelta(hours=1))

    run_jobs(env, raised + timedelta(days=10))

    assert {level for _user, _flag, level in notified(env)} == {0}


def test_stall_escalates_to_the_justice_bureau(env: Env) -> None:
    instance_id = start_case(env, "JD-10", START)
    complete(env, open_task(env, instance_id).id, {"decision": "移送"}, START)
    raised = START + timedelta(hours=48)  # Wednesday 09:00 in Beijing
    run_jobs(env, raised)

    run_jobs(env, raised + timedelta(days=2))

    [stalled] = all_flags(env)
    assert notified(env) == {
        ("zhangsan", stalled.id, 0),
        ("zhao_head", stalled.id, 1),
        ("qian_coord", stalled.id, 2),
    }


def test_stall_thresholds_follow_property_manifest_default_settings() -> None:
    settings = Settings(default_stall_hours=96)
    manifest = {"stall": {"default_hours": 72, "elements": {"wait_police_receipt": 48}}}

    assert stalls.stall_hours("wait_police_receipt", {"stall_hours": "6"}, manifest, settings) == 6
    assert stalls.stall_hours("wait_police_receipt", {}, manifest, settings) == 48
    assert stalls.stall_hours("review_case", {}, manifest, settings) == 72
    assert stalls.stall_hours("review_case", {}, {}, settings) == 96
    with pytest.raises(ValueError, match="not a number"):
        stalls.stall_hours("review_case", {"stall_hours": "soon"}, manifest, settings)


def test_a_broken_instance_does_not_stop_the_stall_job(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = start_case(env, "JD-11", START)
    with env.factory.begin() as session:
        bundle = catalog.read_folder(FIXTURES / "flag_demo")
        broken_manifest = {**bundle.manifest, "stall": {"default_hours": "soon"}}
        catalog.deploy(session, replace(bundle, manifest=broken_manifest), actor="tester")
    broken = start_case(env, "JD-12", START)

    with caplog.at_level(logging.ERROR, logger="engine.monitoring.stalls"):
        raised = stalls.update_stall_flags(env.factory, START + timedelta(days=4), env.settings)

    assert raised == 1
    assert [f.instance_id for f in all_flags(env)] == [healthy]
    assert any(str(broken) in record.getMessage() for record in caplog.records)


def test_timer_job_isolates_a_broken_instance(env: Env, clock: Clock) -> None:
    good = start_case(env, "T-1", clock.now, process_id="timer_demo")
    bad = start_case(env, "T-2", clock.now, process_id="timer_demo")
    with env.factory.begin() as session:
        session.execute(
            update(ProcessInstance).where(ProcessInstance.id == bad).values(state_json="{broken")
        )
    clock.advance(hours=2)

    fired = jobs.fire_due_timers(env.factory, now=clock.now, settings=env.settings)

    assert fired == 1
    with env.factory.begin() as session:
        statuses = dict(session.execute(select(ProcessInstance.id, ProcessInstance.status)).all())
        timer_steps = session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.bpmn_id == "wait_one_hour")
        )
    assert statuses == {good: InstanceStatus.RUNNING, bad: InstanceStatus.ERROR}
    assert timer_steps == 1


def test_confidential_instances_notify_only_who_may_see_them(env: Env) -> None:
    instance_id = start_case(env, "JD-13", START)
    with env.factory.begin() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(confidential=True)
        )

    run_jobs(env, REVIEW_DUE + timedelta(hours=1))
    run_jobs(env, REVIEW_DUE + timedelta(days=10))

    assert {username for username, _flag, _level in notified(env)} == {"zhao_head"}


def test_scheduler_jobs_poll_at_the_flag_interval() -> None:
    table = flags.scheduler_jobs(Settings(flag_poll_seconds=42))

    assert set(table) == {
        "clear_flags",
        "update_deadline_flags",
        "update_stall_flags",
        "escalate_flags",
        "send_notification_emails",
    }
    assert {seconds for _func, seconds in table.values()} == {42}


MANIFEST = {
    "clocks": {
        "case_90": {"value": 90, "unit": "cd", "basis": "《行政处罚法》第六十条", "evidence": "V"},
        "hold_72": {"value": 72, "unit": "h"},
    }
}


def test_clock_actions_start_pause_resume_and_stop() -> None:
    calendar = work_calendar.default_calendar()
    started = clocks.apply_clock_actions({}, {"clock_start": "case_90, hold_72"}, MANIFEST, START)
    case_due = clocks.clock_due(started, "case_90", calendar)
    assert case_due is not None and case_due.basis == "《行政处罚法》第六十条"
    assert started["hold_72"]["started_at"] == START.isoformat()

    paused = clocks.apply_clock_actions(
        started, {"clock_pause": "hold_72"}, MANIFEST, START + timedelta(hours=1)
    )
    assert clocks.clock_due(paused, "hold_72", calendar) is None
    resumed_at = START + timedelta(hours=11)
    resumed = clocks.apply_clock_actions(
        paused, {"clock_resume": " hold_72 "}, MANIFEST, resumed_at
    )
    hold_due = clocks.clock_due(resumed, "hold_72", calendar)
    assert hold_due is not None and hold_due.due == START + timedelta(hours=72 + 10)

    stopped = clocks.apply_clock_actions(
        resumed, {"clock_stop": "case_90"}, MANIFEST, START + timedelta(days=20)
    )
    assert stopped["case_90"]["stopped_at"] is not None
    assert started["case_90"]["stopped_at"] is None  # inputs are never changed


def test_clock_actions_reject_unknown_clocks_and_wrong_states() -> None:
    with pytest.raises(NotFound, match="case_60"):
        clocks.apply_clock_actions({}, {"clock_start": "case_60"}, MANIFEST, START)
    started = clocks.apply_clock_actions({}, {"clock_start": "case_90"}, MANIFEST, START)
    with pytest.raises(Conflict):
        clocks.apply_clock_actions(started, {"clock_start": "case_90"}, MANIFEST, START)
    assert clocks.clock_due({}, "case_90", work_calendar.default_calendar()) is None
