"""Login, logout, throttling, CSRF, session cookie flags, password change, API bearer tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.models import Role
from engine.people import accounts
from web.auth import api_user
from web.auth import current_user

Login = Callable[..., FlaskClient]
Csrf = Callable[[FlaskClient], str]


def _new_user(db_session: Session, username: str, password: str) -> None:
    accounts.create_user(
        db_session, username=username, org_code="YJS-SCJG", role=Role.OFFICER, password=password
    )
    db_session.commit()


def _post_login(client: FlaskClient, csrf: Csrf, username: str, password: str, **extra: str):
    data = {"username": username, "password": password, "csrf_token": csrf(client), **extra}
    return client.post("/login", data=data)


def _is_logged_in(client: FlaskClient) -> bool:
    return client.get("/account/password").status_code == 200


def test_login_page_renders_in_chinese(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<title>登录" in page
    assert 'name="csrf_token"' in page


def test_anonymous_visitor_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")


def test_login_with_demo_password_succeeds_and_sets_safe_cookie(
    client: FlaskClient, csrf: Csrf
) -> None:
    response = _post_login(client, csrf, "scjg_officer1", "demo1234")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get("/account/password").get_data(as_text=True)
    assert "市场监管局 执法人员1" in page
    assert "英吉沙县市场监督管理局" in page


def test_wrong_password_is_refused_with_a_chinese_message(client: FlaskClient, csrf: Csrf) -> None:
    response = _post_login(client, csrf, "scjg_officer2", "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert not _is_logged_in(client)


def test_unknown_user_gets_the_same_message_as_a_wrong_password(
    client: FlaskClient, csrf: Csrf
) -> None:
    response = _post_login(client, csrf, "nobody_here", "whatever-123")
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_five_failures_lock_the_account_even_for_the_right_password(
    client: FlaskClient, csrf: Csrf, db_session: Session
) -> None:
    _new_user(db_session, "lock_me", "right-password")
    for _ in range(4):
        page = _post_login(client, csrf, "lock_me", "bad-password").get_data(as_text=True)
        assert "用户名或密码错误" in page
    fifth = _post_login(client, csrf, "lock_me", "bad-password").get_data(as_text=True)
    assert "账号已暂时锁定" in fifth
    refused = _post_login(client, csrf, "lock_me", "right-password")
    assert "账号已暂时锁定" in refused.get_data(as_text=True)
    assert not _is_logged_in(client)


def test_lock_expires_after_fifteen_minutes(db_session: Session) -> None:
    _new_user(db_session, "lock_clock", "right-password")
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for _ in range(4):
        with pytest.raises(accounts.InvalidCredentials):
            accounts.authenticate(db_session, "lock_clock", "bad-password", now)
    with pytest.raises(accounts.AccountLocked) as locked:
        accounts.authenticate(db_session, "lock_clock", "bad-password", now)
    assert locked.value.until == now + timedelta(minutes=15)
    with pytest.raises(accounts.AccountLocked):
        accounts.authenticate(
            db_session, "lock_clock", "right-password", now + timedelta(minutes=14)
        )
    user = accounts.authenticate(
        db_session, "lock_clock", "right-password", now + timedelta(minutes=15, seconds=1)
    )
    assert user.locked_until is None
    assert user.failed_logins == 0


def test_success_resets_the_failure_count(db_session: Session) -> None:
    _new_user(db_session, "reset_count", "right-password")
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for _ in range(4):
        with pytest.raises(accounts.InvalidCredentials):
            accounts.authenticate(db_session, "reset_count", "bad-password", now)
    accounts.authenticate(db_session, "reset_count", "right-password", now)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate(db_session, "reset_count", "bad-password", now)


def test_inactive_user_cannot_log_in(client: FlaskClient, csrf: Csrf, db_session: Session) -> None:
    _new_user(db_session, "gone_user", "right-password")
    user = accounts.find_user(db_session, "gone_user")
    assert user is not None
    accounts.set_active(db_session, user, False)
    db_session.commit()
    response = _post_login(client, csrf, "gone_user", "right-password")
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_post_without_csrf_token_gets_400(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "scjg_head", "password": "demo1234"})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)


def test_logged_in_post_with_wrong_csrf_token_gets_400(client: FlaskClient, login: Login) -> None:
    login("scjg_head")
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert _is_logged_in(client)


def test_logout_ends_the_session(client: FlaskClient, login: Login, csrf: Csrf) -> None:
    login("scjg_head")
    response = client.post("/logout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert not _is_logged_in(client)


def test_login_follows_a_local_next_but_not_an_external_one(
    client: FlaskClient, csrf: Csrf
) -> None:
    local = _post_login(client, csrf, "admin", "demo1234", next="/admin/orgs")
    assert local.headers["Location"] == "/admin/orgs"
    client.post("/logout", data={"csrf_token": csrf(client)})
    external = _post_login(client, csrf, "admin", "demo1234", next="//evil.example/x")
    assert "evil" not in external.headers["Location"]


def test_login_replaces_the_csrf_token(client: FlaskClient, csrf: Csrf) -> None:
    before = csrf(client)
    _post_login(client, csrf, "ga_officer", "demo1234")
    assert csrf(client) != before


def test_user_changes_own_password(
    client: FlaskClient, csrf: Csrf, login: Login, db_session: Session
) -> None:
    _new_user(db_session, "changer", "old-password")
    login("changer", "old-password")
    wrong = client.post(
        "/account/password",
        data={
            "old_password": "not-it",
            "new_password": "new-password",
            "confirm_password": "new-password",
            "csrf_token": csrf(client),
        },
    )
    assert wrong.status_code == 400
    assert "原密码不正确" in wrong.get_data(as_text=True)
    ok = client.post(
        "/account/password",
        data={
            "old_password": "old-password",
            "new_password": "new-password",
            "confirm_password": "new-password",
            "csrf_token": csrf(client),
        },
    )
    assert ok.status_code == 302
    db_session.expire_all()
    now = datetime.now(UTC)
    assert accounts.authenticate(db_session, "changer", "new-password", now).username == "changer"


def test_unknown_page_answers_a_chinese_404(client: FlaskClient, login: Login) -> None:
    login("scjg_officer1")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "未找到" in response.get_data(as_text=True)


def test_api_user_accepts_a_valid_bearer_token_only(app: Flask, db_session: Session) -> None:
    user = accounts.find_user(db_session, "ga_officer")
    assert user is not None
    token = accounts.issue_api_token(db_session, user, "police system")
    db_session.commit()
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        found = api_user()
        assert found is not None
        assert found.username == "ga_officer"
        assert current_user() is None
    with app.test_request_context(headers={"Authorization": f"Bearer {token}x"}):
        assert api_user() is None
    with app.test_request_context(headers={"Authorization": token}):
        assert api_user() is None


def test_revoked_token_no_longer_authenticates(app: Flask, db_session: Session) -> None:
    user = accounts.find_user(db_session, "jcy_officer")
    assert user is not None
    token = accounts.issue_api_token(db_session, user, "to revoke")
    db_session.commit()
    (row,) = accounts.list_api_tokens(db_session, user_id=user.id)
    accounts.revoke_token(db_session, row.id)
    db_session.commit()
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        assert api_user() is None


def test_token_is_stored_only_as_a_hash(db_session: Session) -> None:
    user = accounts.find_user(db_session, "jw_officer")
    assert user is not None
    token = accounts.issue_api_token(db_session, user, "hash check")
    db_session.commit()
    rows = accounts.list_api_tokens(db_session, user_id=user.id)
    assert all(token not in row.token_hash for row in rows)
    assert accounts.user_for_token(db_session, token) == user


@pytest.fixture
def csrf(csrf_token: Csrf) -> Csrf:
    return csrf_token
