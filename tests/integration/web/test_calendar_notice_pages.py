"""The notice form of the calendar page, the next-year banner, and the reminder in the bell."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.deadlines import calendar
from engine.models import User
from engine.monitoring import notifications
from tests.integration.web.web_demo import deploy_web_demo
from tests.integration.web.web_demo import open_task
from tests.integration.web.web_demo import start_case
from web import calendar_banner

Login = Callable[..., FlaskClient]
Csrf = Callable[[FlaskClient], str]
BANNER = "2037年节假日安排尚未录入"


def _rows(db_session: Session, year: int) -> list[tuple[date, str, str, str | None]]:
    rows = [
        (r.day, r.kind, r.origin, r.notice_no) for r in calendar.list_overrides(db_session, year)
    ]
    db_session.rollback()
    return rows


def test_a_whole_notice_is_entered_in_one_form(
    login: Login, csrf_token: Csrf, db_session: Session
) -> None:
    client = login("admin")
    form = {
        "year": "2038",
        "region": "national",
        "notice_no": "国办发明电〔2037〕9号",
        "holidays": "元旦 2038-01-01\n春节 2038-02-03至2038-02-05\n",
        "workdays": "春节调休 2038-02-07",
    }

    response = client.post(
        "/admin/calendar/import", data={**form, "csrf_token": csrf_token(client)}
    )

    assert response.status_code == 302
    assert "year=2038" in response.headers["Location"]
    number = "国办发明电〔2037〕9号"
    assert _rows(db_session, 2038) == [
        (date(2038, 1, 1), "holiday", "admin", number),
        (date(2038, 2, 3), "holiday", "admin", number),
        (date(2038, 2, 4), "holiday", "admin", number),
        (date(2038, 2, 5), "holiday", "admin", number),
        (date(2038, 2, 7), "workday", "admin", number),
    ]
    page = client.get("/admin/calendar?year=2038").get_data(as_text=True)
    assert "文号 国办发明电〔2037〕9号" in page


def test_a_bad_notice_shows_field_errors_and_imports_nothing(
    login: Login, csrf_token: Csrf, db_session: Session
) -> None:
    client = login("admin")
    form = {
        "year": "2039",
        "region": "national",
        "notice_no": "",
        "holidays": "春节 2039-02-30\n",
        "workdays": "",
    }

    response = client.post(
        "/admin/calendar/import", data={**form, "csrf_token": csrf_token(client)}
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="notice_no-error"' in page
    assert "第 1 行：日期应写作 年-月-日" in page
    assert _rows(db_session, 2039) == []


@pytest.fixture
def first_of_november(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_banner, "today", lambda: date(2036, 11, 1))


@pytest.mark.usefixtures("first_of_november")
def test_coordinators_and_admins_see_the_banner_on_every_page(login: Login) -> None:
    admin_page = login("admin").get("/tasks/").get_data(as_text=True)
    assert BANNER in admin_page
    assert "/admin/calendar?year=2037" in admin_page
    coordinator_page = login("sfj_coordinator").get("/tasks/").get_data(as_text=True)
    assert BANNER in coordinator_page
    assert "请联系系统管理员" in coordinator_page
    assert BANNER not in login("ga_officer").get("/tasks/").get_data(as_text=True)


def test_no_banner_before_november(login: Login, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_banner, "today", lambda: date(2036, 10, 31))

    assert "节假日安排尚未录入" not in login("admin").get("/tasks/").get_data(as_text=True)


def test_the_reminder_in_the_bell_links_admins_to_the_calendar(
    login: Login, db_session: Session
) -> None:
    admin = db_session.scalars(select(User).where(User.username == "admin")).one()
    [notification_id] = notifications.notify_topic(
        db_session,
        user_ids=[admin.id],
        topic="calendar_missing:2040",
        title="2040年节假日安排尚未录入",
        body="请录入。",
        now=datetime(2039, 11, 1, tzinfo=UTC),
    )
    db_session.commit()

    page = login("admin").get("/notifications/").get_data(as_text=True)
    db_session.execute(
        delete(notifications.Notification).where(notifications.Notification.id == notification_id)
    )
    db_session.commit()

    assert "2040年节假日安排尚未录入" in page
    assert "/admin/calendar?year=2040" in page


def test_adding_a_holiday_on_a_due_day_moves_the_open_task(
    login: Login, csrf_token: Csrf, session_factory: sessionmaker[Session]
) -> None:
    deploy_web_demo(session_factory)
    officer = login("scjg_officer1")
    task = open_task(session_factory, start_case(officer, "CAL-MOVE-1"), "register_case")
    assert task.deadline is not None
    due_day = task.deadline["due"][:10]
    admin = login("admin")
    form = {"day": due_day, "kind": "holiday", "name": "临时放假", "region": "national"}

    added = admin.post(
        "/admin/calendar", data={**form, "csrf_token": csrf_token(admin)}, follow_redirects=True
    )
    moved = open_task(session_factory, task.instance_id, "register_case")
    admin.post(
        "/admin/calendar/remove",
        data={"day": due_day, "region": "national", "csrf_token": csrf_token(admin)},
    )
    back = open_task(session_factory, task.instance_id, "register_case")

    assert "已重算" in added.get_data(as_text=True)
    assert moved.due_at is not None and task.due_at is not None
    assert moved.due_at > task.due_at
    assert moved.deadline is not None
    assert {"date": due_day, "reason": "临时放假"} in moved.deadline["skipped"]
    assert back.due_at == task.due_at
