"""Calendar changes move open deadlines: recompute, flags that follow, next-year reminder.

Uses the flag fixtures of test_flags (flag_demo: 负责人审批 within 3 calendar days) on a fresh
database per test, with the jobs called directly at fixed moments.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy import update

from engine.deadlines import notices
from engine.deadlines.notices import RawRange
from engine.execution import definitions
from engine.models import HumanTask
from engine.models import Role
from engine.monitoring import calendar_reminder
from engine.monitoring.models import FlagKind
from engine.monitoring.notifications import Notification
from engine.monitoring.recompute import is_affected
from engine.monitoring.recompute import recompute_open_deadlines
from tests.factories import make_user
from tests.integration.test_flags import JUSTICE
from tests.integration.test_flags import START
from tests.integration.test_flags import Env
from tests.integration.test_flags import deadline_flags
from tests.integration.test_flags import isolated_env
from tests.integration.test_flags import open_task
from tests.integration.test_flags import run_jobs
from tests.integration.test_flags import start_case

START_2027 = datetime(2027, 2, 8, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
FALLBACK_DUE = datetime(2027, 2, 11, 15, 59, 59, 999999, tzinfo=UTC)  # Thursday, Mon-Fri rule
NOTICE_DUE = datetime(2027, 2, 17, 15, 59, 59, 999999, tzinfo=UTC)  # after 春节 2/10-2/16
SPRING_2027 = notices.build_notice(
    year=2027,
    region="national",
    notice_no="国办发明电（2026）99号",
    holidays=[RawRange(1, "春节", "2027-02-10", "2027-02-16")],
    workdays=[RawRange(1, "春节调休", "2027-02-20")],
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setattr(definitions, "_DEFINITIONS", {})  # definition ids restart per database
    with isolated_env(tmp_path) as created:
        yield created


def import_and_recompute(env: Env, notice: notices.Notice, now: datetime) -> list[int]:
    with env.factory.begin() as session:
        changed = notices.import_notice(session, notice, actor="tester")
        return recompute_open_deadlines(
            session, settings=env.settings, now=now, changed_days=changed
        )


def test_a_fallback_deadline_is_recomputed_when_the_notice_arrives(env: Env) -> None:
    case_2027 = start_case(env, "JD-2027", START_2027)
    case_2026 = start_case(env, "JD-2026", START)
    task = open_task(env, case_2027)
    assert task.due_at == FALLBACK_DUE
    assert task.deadline is not None
    assert "2027 年节假日数据缺失" in task.deadline["warnings"][0]
    untouched = open_task(env, case_2026)

    moved = import_and_recompute(env, SPRING_2027, START_2027 + timedelta(days=1))

    assert moved == [task.id]
    task = open_task(env, case_2027)
    assert task.due_at == NOTICE_DUE
    assert task.deadline is not None
    assert task.deadline["warnings"] == []
    assert task.deadline["due"] == "2027-02-17T23:59:59.999999+08:00"
    assert {"date": "2027-02-11", "reason": "春节"} in task.deadline["skipped"]
    assert task.warn_at is not None and task.warn_at < NOTICE_DUE
    assert open_task(env, case_2026).due_at == untouched.due_at


def test_a_red_flag_clears_when_the_recomputed_task_is_no_longer_overdue(env: Env) -> None:
    instance_id = start_case(env, "JD-RED", START_2027)
    overdue = FALLBACK_DUE + timedelta(hours=10)
    run_jobs(env, overdue)
    [red] = deadline_flags(env)[-1:]
    assert (red.kind, red.cleared_at) == (FlagKind.RED, None)

    import_and_recompute(env, SPRING_2027, overdue)

    red_after = next(f for f in deadline_flags(env) if f.id == red.id)
    assert red_after.cleared_at == overdue
    run_jobs(env, overdue + timedelta(minutes=1))
    assert [f.id for f in deadline_flags(env) if f.cleared_at is None] == []

    # At the new due moment the task is overdue again and gets a red flag of its own.
    run_jobs(env, NOTICE_DUE + timedelta(seconds=1))
    open_red = [f for f in deadline_flags(env) if f.cleared_at is None and f.kind == FlagKind.RED]
    assert len(open_red) == 1
    assert open_red[0].since == NOTICE_DUE
    assert open_red[0].task_id == open_task(env, instance_id).id
    assert "期限已于2027-02-17 23:59届满" in open_red[0].reason


def test_the_clear_job_clears_a_red_flag_whose_due_moved_later(env: Env) -> None:
    instance_id = start_case(env, "JD-JOB", START)
    task = open_task(env, instance_id)
    assert task.due_at is not None
    late = task.due_at + timedelta(hours=1)
    run_jobs(env, late)
    assert [f.kind for f in deadline_flags(env) if f.cleared_at is None] == [FlagKind.RED]
    with env.factory.begin() as session:
        session.execute(
            update(HumanTask)
            .where(HumanTask.id == task.id)
            .values(due_at=task.due_at + timedelta(days=2))
        )

    run_jobs(env, late + timedelta(minutes=1))

    # Past warn_at but no longer overdue: the red flag is cleared and a yellow one replaces it.
    red, yellow = deadline_flags(env)
    assert (red.kind, red.cleared_at) == (FlagKind.RED, late + timedelta(minutes=1))
    assert (yellow.kind, yellow.cleared_at) == (FlagKind.YELLOW, None)


def test_is_affected_needs_a_fallback_or_a_changed_day_inside_the_period() -> None:
    stored = {
        "start": "2026-03-02T09:00:00+08:00",
        "due": "2026-03-05T23:59:59.999999+08:00",
        "warnings": [],
    }
    assert is_affected(stored, {date(2026, 3, 5)})
    assert not is_affected(stored, {date(2026, 3, 6), date(2026, 3, 1)})
    assert is_affected(stored, None)
    fallback = {**stored, "warnings": ["2027 年节假日数据缺失，按周一至周五计算"]}
    assert is_affected(fallback, set())


def _reminders(env: Env) -> list[tuple[int, str | None, str]]:
    with env.factory.begin() as session:
        rows = session.execute(
            select(Notification.user_id, Notification.topic, Notification.title).where(
                Notification.flag_id.is_(None)
            )
        )
        return sorted((row.user_id, row.topic, row.title) for row in rows)


def test_next_year_reminder_goes_once_to_each_coordinator_and_admin(env: Env) -> None:
    with env.factory.begin() as session:
        make_user(session, username="root_admin", org_code=JUSTICE, role=Role.ADMIN)
    october = datetime(2026, 10, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 October in Beijing
    november = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)

    with env.factory.begin() as session:
        assert calendar_reminder.remind_missing_calendar(session, october) == 0
    assert calendar_reminder.remind_job(env.factory, november, env.settings) == 3
    assert (
        calendar_reminder.remind_job(env.factory, november + timedelta(days=1), env.settings) == 0
    )

    reminders = _reminders(env)
    assert len(reminders) == 3
    assert {title for _, _, title in reminders} == {"2027年节假日安排尚未录入"}
    assert {topic for _, topic, _ in reminders} == {"calendar_missing:2027"}


def test_no_reminder_once_both_notices_of_next_year_are_entered(env: Env) -> None:
    xinjiang = notices.build_notice(
        year=2027,
        region="xinjiang",
        notice_no="新政办明电（2026）1号",
        holidays=[RawRange(1, "肉孜节", "2027-03-10", "2027-03-12")],
        workdays=[],
    )
    with env.factory.begin() as session:
        notices.import_notice(session, SPRING_2027, actor="tester")
        missing = notices.missing_data(session, 2027)
        assert missing == notices.MissingData(2027, national=False, xinjiang=True)
        notices.import_notice(session, xinjiang, actor="tester")
        assert notices.missing_data(session, 2027) is None

    november = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert calendar_reminder.remind_job(env.factory, november, env.settings) == 0
