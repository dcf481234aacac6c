"""Server-side sessions, cookie flags, security headers, inline-free templates, login `next`.

Hostile inputs of issue 12: a cookie replayed after logout, `next=/\\t/evil.example` and its
relatives, pages that could be framed or sniffed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.demo.accounts import DEMO_PASSWORD
from engine.people import accounts
from engine.settings import Settings
from tests.integration.web.conftest import get_csrf_token
from web import create_app
from web.headers import SECURITY_HEADERS
from web.redirects import safe_next_path

TEMPLATES = Path(__file__).resolve().parents[3] / "web" / "templates"
COOKIE = "session"


def _login(client: FlaskClient, username: str, **extra: str) -> str:
    data = {"username": username, "password": DEMO_PASSWORD, "csrf_token": get_csrf_token(client)}
    response = client.post("/login", data={**data, **extra})
    assert response.status_code == 302, f"login of {username} failed"
    return str(response.headers["Location"])


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def _logged_in(client: FlaskClient) -> bool:
    return client.get("/account/password").status_code == 200


def _logout(client: FlaskClient) -> None:
    response = client.post("/logout", data={"csrf_token": get_csrf_token(client)})
    assert response.status_code == 302


def test_a_cookie_replayed_after_logout_is_not_logged_in(app: Flask) -> None:
    client = app.test_client()
    _login(client, "scjg_officer1")
    stolen = _cookie(client)
    _logout(client)
    client.set_cookie(COOKIE, stolen)
    assert not _logged_in(client)


def test_logout_ends_the_sessions_of_every_browser(app: Flask) -> None:
    office, home = app.test_client(), app.test_client()
    _login(office, "scjg_officer2")
    _login(home, "scjg_officer2")
    _logout(office)
    assert not _logged_in(home)


def test_a_password_change_ends_the_other_sessions_but_keeps_this_one(
    app: Flask, db_session: Session
) -> None:
    accounts.create_user(
        db_session,
        username="pw_changer",
        org_code="YJS-SCJG",
        role="officer",
        password="old-pass-1",
    )
    db_session.commit()
    here, elsewhere = app.test_client(), app.test_client()
    for client in (here, elsewhere):
        data = {"username": "pw_changer", "password": "old-pass-1"}
        client.post("/login", data={**data, "csrf_token": get_csrf_token(client)})
    stolen = _cookie(here)
    form = {"old_password": "old-pass-1", "new_password": "new-pass-22"}
    response = here.post(
        "/account/password",
        data={**form, "confirm_password": "new-pass-22", "csrf_token": get_csrf_token(here)},
    )
    assert response.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere)
    replay = app.test_client()
    replay.set_cookie(COOKIE, stolen)
    assert not _logged_in(replay)


def test_an_old_client_side_session_cookie_logs_nobody_in(app: Flask) -> None:
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["user_id"] = 1
    assert not _logged_in(client)


def test_an_idle_session_ends(
    web_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    idle = create_app(
        web_settings.with_overrides(session_idle_minutes=0), session_factory=session_factory
    )
    client = idle.test_client()
    _login(client, "scjg_officer1")
    assert not _logged_in(client)


def test_the_secure_flag_is_set_when_configured(
    web_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    secure = create_app(
        web_settings.with_overrides(secure_cookies=True), session_factory=session_factory
    )
    response = secure.test_client().get("/login")
    assert "Secure" in response.headers["Set-Cookie"]
    plain = create_app(web_settings, session_factory=session_factory)
    assert "Secure" not in plain.test_client().get("/login").headers["Set-Cookie"]


@pytest.mark.parametrize(
    "path", ["/login", "/no-such-page", "/api/v1/openapi.json", "/api/v1/tasks"]
)
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert SECURITY_HEADERS["Content-Security-Policy"] == policy


INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)


def test_templates_hold_no_inline_script_or_style() -> None:
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0).strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for match in INLINE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_pages_link_the_stylesheets_they_need(client: FlaskClient) -> None:
    _login(client, "admin")
    for path, sheet in (
        ("/admin/calendar", "planning.css"),
        ("/notifications/", "notifications.css"),
    ):
        page = client.get(path).get_data(as_text=True)
        assert f"/static/{sheet}" in page
        static = client.get(f"/static/{sheet}")
        assert static.status_code == 200
        static.close()


HOSTILE_NEXT = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "/%252F%252Fevil.example",
    "/%09/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " /tasks",
    "/\u3000/evil.example",
    "/\u200b/evil.example",
    "evil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_a_hostile_next_is_refused(target: str) -> None:
    assert safe_next_path(target) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/tasks", "/tasks"),
        ("/instances/3?tab=audit#log", "/instances/3?tab=audit#log"),
        ("/tasks?q=%E5%BC%A0", "/tasks?q=%E5%BC%A0"),
    ],
)
def test_a_local_next_is_followed(target: str, expected: str) -> None:
    assert safe_next_path(target) == expected


@pytest.mark.parametrize(
    "target", ["/\t/evil.example", "/%2F%2Fevil.example", "javascript:alert(1)"]
)
def test_login_with_a_hostile_next_goes_to_the_inbox(app: Flask, target: str) -> None:
    location = _login(app.test_client(), "scjg_officer1", next=target)
    assert location == "/tasks/"


def test_login_with_a_local_next_goes_there(app: Flask) -> None:
    assert _login(app.test_client(), "scjg_officer1", next="/notifications") == "/notifications"
