"""The notification bell: unread count in the top bar, the list, marking read."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import instances
from engine.monitoring import notifications
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.people import accounts
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import deploy_web_demo

Login = Callable[..., FlaskClient]
Csrf = Callable[[FlaskClient], str]

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
BELL = re.compile(r'class="bell".*?</a>', re.S)


def _bell(page: str) -> str:
    found = BELL.search(page)
    assert found is not None, "no bell in the page"
    return found.group(0)


def _unread(page: str) -> int:
    found = re.search(r'<span class="count"[^>]*>(\d+)</span>', _bell(page))
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def sent(app: Flask, session_factory: sessionmaker[Session]) -> tuple[int, list[int]]:
    """An instance with two flags; scjg_officer1 is notified of both. Returns (instance, ids)."""
    deploy_web_demo(session_factory)
    with session_factory.begin() as session:
        user = accounts.find_user(session, "scjg_officer1")
        assert user is not None
        instance = instances.start_instance(
            session,
            process_id=PROCESS_ID,
            data={"case_no": "通知-1", "agency_org": "YJS-SCJG", "summary": "测试"},
            user=user,
        )
        ids = []
        for kind in (FlagKind.YELLOW, FlagKind.STALLED):
            flag = Flag(
                instance_id=instance.id,
                kind=kind,
                reason=f"{kind} 测试",
                since=NOW,
                raised_at=NOW,
                dedupe_key=f"test:{kind}:{instance.id}",
            )
            session.add(flag)
            session.flush()
            ids += notifications.notify(
                session,
                user_ids=[user.id],
                flag_id=flag.id,
                level=0,
                title=f"期限提醒 {kind}",
                body="「立案审批」即将到期",
                now=NOW,
            )
        return instance.id, ids


def test_bell_shows_the_unread_count(login: Login, sent: tuple[int, list[int]]) -> None:
    page = login("scjg_officer1").get("/notifications/").get_data(as_text=True)
    assert _unread(page) == 2
    assert "期限提醒 yellow" in page
    assert "期限提醒 stalled" in page


def test_users_without_notifications_see_no_number(login: Login) -> None:
    page = login("scjg_officer2").get("/notifications/").get_data(as_text=True)
    assert _unread(page) == 0
    assert "暂无通知" in page


def test_mark_read_lowers_the_count(
    login: Login, csrf_token: Csrf, sent: tuple[int, list[int]]
) -> None:
    client = login("scjg_officer1")
    before = _unread(client.get("/notifications/").get_data(as_text=True))
    response = client.post(
        f"/notifications/{sent[1][0]}/read", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    page = client.get("/notifications/").get_data(as_text=True)
    assert _unread(page) == before - 1
    assert "已读于" in page


def test_mark_read_needs_the_csrf_token(login: Login, sent: tuple[int, list[int]]) -> None:
    client = login("scjg_officer1")
    assert client.post(f"/notifications/{sent[1][1]}/read").status_code == 400


def test_another_users_notification_is_not_found(
    login: Login, csrf_token: Csrf, sent: tuple[int, list[int]]
) -> None:
    client = login("scjg_officer2")
    response = client.post(
        f"/notifications/{sent[1][1]}/read", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 404


def test_open_case_marks_read_and_goes_to_the_instance(
    login: Login, csrf_token: Csrf, sent: tuple[int, list[int]], db_session: Session
) -> None:
    client = login("scjg_officer1")
    response = client.post(
        f"/notifications/{sent[1][1]}/read",
        data={"open": "1", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/instances/{sent[0]}")
    user = accounts.find_user(db_session, "scjg_officer1")
    assert user is not None
    assert notifications.unread_count(db_session, user) == 0
    db_session.rollback()


def test_mark_all_read(
    login: Login, csrf_token: Csrf, sent: tuple[int, list[int]], db_session: Session
) -> None:
    user = accounts.find_user(db_session, "scjg_officer1")
    assert user is not None
    first = db_session.get(notifications.Notification, sent[1][0])
    assert first is not None
    notifications.notify(
        db_session,
        user_ids=[user.id],
        flag_id=first.flag_id,
        level=1,
        title="升级",
        body="",
        now=NOW,
    )
    db_session.commit()
    client = login("scjg_officer1")
    unread = _unread(client.get("/notifications/").get_data(as_text=True))
    assert unread >= 1
    response = client.post(
        "/notifications/read-all", data={"csrf_token": csrf_token(client)}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert f"已将 {unread} 条通知标为已读" in page
    assert _unread(page) == 0
