"""Admin pages (guard, organizations, users, certificates, API tokens) and the account CLI."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.commands import accounts as account_commands
from engine.demo.accounts import DEMO_PASSWORD
from engine.demo.accounts import demo_org_specs
from engine.demo.accounts import seed_demo_accounts
from engine.models import Role
from engine.people import accounts
from web.auth import api_user

Login = Callable[..., FlaskClient]
Csrf = Callable[[FlaskClient], str]

ADMIN_PAGES = ["/admin/users", "/admin/orgs", "/admin/tokens", "/admin/users/new"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("username", ["sfj_coordinator", "scjg_head", "jw_officer"])
def test_non_admin_is_refused_every_admin_page(login: Login, path: str, username: str) -> None:
    response = login(username).get(path)
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)


def test_non_admin_cannot_post_to_admin(login: Login, csrf_token: Csrf) -> None:
    client = login("scjg_head")
    response = client.post(
        "/admin/users",
        data={
            "username": "sneaky",
            "org_code": "YJS-SCJG",
            "role": "admin",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 403


def test_admin_sees_the_nav_entry_others_do_not(login: Login, client: FlaskClient) -> None:
    assert "管理</a>" in login("admin").get("/admin/users").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": _token(client)})
    page = login("scjg_officer1").get("/account/password").get_data(as_text=True)
    assert "管理</a>" not in page


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_render(login: Login, path: str) -> None:
    response = login("admin").get(path)
    assert response.status_code == 200
    assert "<h1>" in response.get_data(as_text=True)


def test_org_page_lists_the_demo_organizations(login: Login) -> None:
    page = login("admin").get("/admin/orgs").get_data(as_text=True)
    for code, _type, name in demo_org_specs():
        assert code in page
        assert name in page


def _user_id(db_session: Session, username: str) -> int:
    """The user's id, ending the read transaction so that requests can take the lock."""
    user = accounts.find_user(db_session, username)
    assert user is not None
    user_id = user.id
    db_session.rollback()
    return user_id


def _token(client: FlaskClient) -> str:
    with client.session_transaction() as flask_session:
        token = flask_session["csrf_token"]
    assert isinstance(token, str)
    return token


def test_admin_creates_a_user_with_a_generated_password_shown_once(
    app: Flask, login: Login, db_session: Session
) -> None:
    client = login("admin")
    response = client.post(
        "/admin/users",
        data={
            "username": "scjg_officer9",
            "display_name": "新执法人员",
            "org_code": "YJS-SCJG",
            "role": "officer",
            "password": "",
            "csrf_token": _token(client),
        },
    )
    assert response.status_code == 201
    match = re.search(r"<code>([A-Za-z0-9_-]{16})</code>", response.get_data(as_text=True))
    assert match is not None
    created = accounts.find_user(db_session, "scjg_officer9")
    assert created is not None
    assert created.role == Role.OFFICER
    assert created.display_name == "新执法人员"
    assert match.group(1) not in created.password_hash
    db_session.rollback()
    other = app.test_client()
    other.get("/login")
    login_response = other.post(
        "/login",
        data={
            "username": "scjg_officer9",
            "password": match.group(1),
            "csrf_token": _token(other),
        },
    )
    assert login_response.status_code == 302


def test_create_user_form_reports_a_duplicate_username(login: Login) -> None:
    client = login("admin")
    response = client.post(
        "/admin/users",
        data={
            "username": "scjg_head",
            "org_code": "YJS-SCJG",
            "role": "head",
            "csrf_token": _token(client),
        },
    )
    assert response.status_code == 400
    assert "该用户名已存在" in response.get_data(as_text=True)


def test_create_user_form_reports_bad_fields(login: Login) -> None:
    client = login("admin")
    response = client.post(
        "/admin/users",
        data={
            "username": "中文名",
            "org_code": "YJS-SCJG",
            "role": "officer",
            "csrf_token": _token(client),
        },
    )
    assert response.status_code == 400
    assert "用户名为3至80位" in response.get_data(as_text=True)
    unknown_role = client.post(
        "/admin/users",
        data={
            "username": "ok_name",
            "org_code": "YJS-SCJG",
            "role": "boss",
            "csrf_token": _token(client),
        },
    )
    assert unknown_role.status_code == 400
    assert "请选择角色" in unknown_role.get_data(as_text=True)


def test_create_user_without_csrf_token_is_refused(login: Login, db_session: Session) -> None:
    response = login("admin").post(
        "/admin/users", data={"username": "no_csrf", "org_code": "YJS-SCJG", "role": "officer"}
    )
    assert response.status_code == 400
    assert accounts.find_user(db_session, "no_csrf") is None


def test_admin_creates_an_organization(login: Login, db_session: Session) -> None:
    client = login("admin")
    response = client.post(
        "/admin/orgs",
        data={
            "code": "YJS-TEST",
            "type": "agency",
            "name": "英吉沙县测试局",
            "csrf_token": _token(client),
        },
    )
    assert response.status_code == 302
    org = accounts.get_org(db_session, "YJS-TEST")
    assert org.name == "英吉沙县测试局"
    db_session.rollback()
    duplicate = client.post(
        "/admin/orgs",
        data={"code": "YJS-TEST", "type": "agency", "name": "重复", "csrf_token": _token(client)},
    )
    assert duplicate.status_code == 400
    assert "该机构代码已存在" in duplicate.get_data(as_text=True)


def test_admin_adds_and_removes_a_certificate(login: Login, db_session: Session) -> None:
    user_id = _user_id(db_session, "yj_head")
    client = login("admin")
    response = client.post(
        f"/admin/users/{user_id}/certificates",
        data={
            "number": "YJS-YJ-2025-900",
            "fields": "work_safety，mining",
            "valid_from": "2025-01-01",
            "valid_until": "2030-06-30",
            "csrf_token": _token(client),
        },
    )
    assert response.status_code == 302
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "YJS-YJ-2025-900" in page
    assert '<span title="mining">mining</span>、<span title="work_safety">安全生产</span>' in page
    assert "2030-06-30" in page
    user = accounts.get_user(db_session, user_id)
    (cert_id,) = [c.id for c in user.certificates if c.number == "YJS-YJ-2025-900"]
    db_session.rollback()
    client.post(
        f"/admin/users/{user_id}/certificates/{cert_id}/delete",
        data={"csrf_token": _token(client)},
    )
    user = accounts.get_user(db_session, user_id)
    assert all(c.number != "YJS-YJ-2025-900" for c in user.certificates)


def test_certificate_needs_a_valid_until_date(login: Login, db_session: Session) -> None:
    user_id = _user_id(db_session, "yj_legal")
    client = login("admin")
    response = client.post(
        f"/admin/users/{user_id}/certificates",
        data={
            "number": "X-1",
            "fields": "work_safety",
            "valid_until": "soon",
            "csrf_token": _token(client),
        },
    )
    assert response.status_code == 400
    assert "请填写正确的有效期" in response.get_data(as_text=True)


def test_user_list_filters_by_organization(login: Login) -> None:
    page = login("admin").get("/admin/users?org=YJS-WJW").get_data(as_text=True)
    assert "wjw_officer3" in page
    assert "scjg_officer1" not in page


@pytest.mark.parametrize(
    ("username", "field"),
    [
        ("scjg_officer3", "市场监管"),
        ("yj_officer1", "安全生产"),
        ("wjw_officer2", "卫生健康"),
    ],
)
def test_demo_officers_hold_valid_certificates_in_their_field(
    login: Login, db_session: Session, username: str, field: str
) -> None:
    user_id = _user_id(db_session, username)
    page = login("admin").get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert f">{field}</span></td>" in page
    assert "2029-12-31" in page
    assert "已过期" not in page


def test_admin_issues_a_token_that_authenticates_then_revokes_it(
    app: Flask, login: Login, db_session: Session
) -> None:
    ga_head_id = _user_id(db_session, "ga_head")
    client = login("admin")
    response = client.post(
        "/admin/tokens",
        data={"username": "ga_head", "label": "公安案件系统", "csrf_token": _token(client)},
    )
    assert response.status_code == 201
    match = re.search(r"<code>(xt_[A-Za-z0-9_-]+)</code>", response.get_data(as_text=True))
    assert match is not None
    token = match.group(1)
    assert token not in client.get("/admin/tokens").get_data(as_text=True)
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        found = api_user()
        assert found is not None
        assert found.username == "ga_head"
    (token_id,) = [row.id for row in accounts.list_api_tokens(db_session, user_id=ga_head_id)]
    db_session.rollback()
    revoked = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": _token(client)})
    assert revoked.status_code == 302
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        assert api_user() is None


def test_issuing_a_token_for_an_unknown_user_is_refused(login: Login) -> None:
    client = login("admin")
    response = client.post(
        "/admin/tokens",
        data={"username": "ghost", "label": "x", "csrf_token": _token(client)},
    )
    assert response.status_code == 400
    assert "没有该用户" in response.get_data(as_text=True)


def test_admin_resets_a_password_and_unlocks(login: Login, db_session: Session) -> None:
    user, _ = accounts.create_user(
        db_session, username="forgetful", org_code="YJS-JT", role=Role.OFFICER, password="p" * 8
    )
    db_session.commit()
    client = login("admin")
    response = client.post(f"/admin/users/{user.id}/password", data={"csrf_token": _token(client)})
    match = re.search(r"<code>([A-Za-z0-9_-]{16})</code>", response.get_data(as_text=True))
    assert match is not None
    db_session.expire_all()
    assert accounts.verify_password(user.password_hash, match.group(1))
    assert not accounts.verify_password(user.password_hash, "p" * 8)


def test_deactivated_user_is_logged_out_on_next_request(
    app: Flask, login: Login, db_session: Session
) -> None:
    accounts.create_user(
        db_session, username="soon_gone", org_code="YJS-JT", role=Role.OFFICER, password="p" * 8
    )
    db_session.commit()
    victim = app.test_client()
    victim.get("/login")
    victim.post(
        "/login", data={"username": "soon_gone", "password": "p" * 8, "csrf_token": _token(victim)}
    )
    assert victim.get("/account/password").status_code == 200
    user_id = _user_id(db_session, "soon_gone")
    client = login("admin")
    client.post(
        f"/admin/users/{user_id}/active", data={"active": "0", "csrf_token": _token(client)}
    )
    assert victim.get("/account/password").status_code == 302


@pytest.fixture
def cli_session(monkeypatch: pytest.MonkeyPatch, session_factory: sessionmaker[Session]) -> None:
    @contextmanager
    def scope() -> Iterator[Session]:
        with session_factory.begin() as session:
            yield session

    monkeypatch.setattr(account_commands, "session_scope", scope)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="xietong")
    account_commands.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def _run(argv: list[str]) -> int:
    args = _parse(argv)
    code: int = args.handler(args)
    return code


@pytest.mark.usefixtures("cli_session", "demo_accounts")
def test_cli_org_list_prints_code_type_and_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["org", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "YJS-SCJG\tagency\t英吉沙县市场监督管理局" in lines
    assert "TWP-WUQIA\ttownship\t乌恰镇人民政府" in lines
    assert "YJS-JW\tdiscipline_commission\t中共英吉沙县纪律检查委员会 英吉沙县监察委员会" in lines


@pytest.mark.usefixtures("cli_session", "demo_accounts")
def test_cli_user_create_prints_a_generated_password(
    capsys: pytest.CaptureFixture[str], db_session: Session
) -> None:
    assert _run(["user", "create", "cli_user", "--org", "YJS-SW", "--role", "officer"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"^password: (\S+)$", out, re.MULTILINE)
    assert match is not None
    user = accounts.find_user(db_session, "cli_user")
    assert user is not None
    assert accounts.verify_password(user.password_hash, match.group(1))


@pytest.mark.usefixtures("cli_session", "demo_accounts")
def test_cli_user_create_with_password_prints_none(
    capsys: pytest.CaptureFixture[str], db_session: Session
) -> None:
    argv = ["user", "create", "cli_user2", "--org", "YJS-SW", "--role", "head"]
    assert _run([*argv, "--password", "given-password"]) == 0
    assert "password:" not in capsys.readouterr().out
    user = accounts.find_user(db_session, "cli_user2")
    assert user is not None
    assert accounts.verify_password(user.password_hash, "given-password")


@pytest.mark.usefixtures("cli_session", "demo_accounts")
def test_cli_user_create_refuses_an_unknown_org(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["user", "create", "cli_user3", "--org", "NOPE", "--role", "officer"]) == 1
    assert "not found" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_session", "demo_accounts")
def test_cli_user_token_prints_a_working_token(
    capsys: pytest.CaptureFixture[str], db_session: Session
) -> None:
    assert _run(["user", "token", "jcy_officer"]) == 0
    token = capsys.readouterr().out.strip()
    found = accounts.user_for_token(db_session, token)
    assert found is not None
    assert found.username == "jcy_officer"
    db_session.rollback()
    assert _run(["user", "token", "ghost"]) == 1


@pytest.mark.usefixtures("demo_accounts")
def test_seeding_demo_accounts_twice_changes_nothing(
    session_factory: sessionmaker[Session], db_session: Session
) -> None:
    before = {u.username for u in accounts.list_users(db_session)}
    db_session.rollback()
    with session_factory.begin() as session:
        listed = seed_demo_accounts(session)
    after = {u.username for u in accounts.list_users(db_session)}
    assert before == after
    assert {password for _u, password, _d in listed} == {DEMO_PASSWORD}
