"""Web fixtures: a fresh database per test module, seeded with the demo accounts.

Fixtures: `web_settings`, `db_engine`, `session_factory` (module scope; they override the
root ones so `session` and `settings` point at the module's database, which is emptied first
when XIETONG_TEST_DATABASE_URL names a server database), `demo_accounts`,
`app`, `client`, `db_session` (a plain session whose commits are real), `csrf_token(client)`
and `login(username, password=DEMO_PASSWORD)` which logs the `client` in and returns it.
Data committed by one test stays for the next ones of the module: use fresh names.
On SQLite every transaction starts with BEGIN IMMEDIATE (engine.db), so end `db_session`'s
transaction (commit or rollback) before making a request, or the request waits on the lock.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine import model_registry
from engine.db import is_sqlite
from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo.accounts import DEMO_PASSWORD
from engine.demo.accounts import seed_demo_accounts
from engine.people import accounts
from engine.settings import Settings
from web import create_app
from web.csrf import SESSION_KEY as CSRF_SESSION_KEY


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id with minimal cost: the real parameters make every login take ~0.2 s."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        )
        yield


@pytest.fixture(scope="module")
def web_settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    """A fresh SQLite file per module; the configured server database when there is one."""
    if is_sqlite(database_url):
        database_url = f"sqlite:///{tmp_path_factory.mktemp('web')}/t.db"
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key",
        run_scheduler_in_process=False,
        script_time_budget_seconds=0.5,
    )


@pytest.fixture
def settings(web_settings: Settings) -> Settings:
    return web_settings


@pytest.fixture(scope="module")
def db_engine(web_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(web_settings)
    metadata = model_registry.metadata()
    metadata.drop_all(engine)  # a server database is shared by the modules: start empty
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


@pytest.fixture(scope="module")
def demo_accounts(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with session_factory.begin() as session:
        return seed_demo_accounts(session)


@pytest.fixture(scope="module")
def app(
    web_settings: Settings,
    session_factory: sessionmaker[Session],
    demo_accounts: list[tuple[str, str, str]],
) -> Flask:
    application = create_app(web_settings, session_factory=session_factory)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    try:
        yield session
    finally:
        session.close()


def get_csrf_token(client: FlaskClient) -> str:
    """The client's session CSRF token, fetching the login page first if it has none."""
    with client.session_transaction() as flask_session:
        token = flask_session.get(CSRF_SESSION_KEY)
    if token is None:
        client.get("/login")
        with client.session_transaction() as flask_session:
            token = flask_session[CSRF_SESSION_KEY]
    assert isinstance(token, str)
    return token


@pytest.fixture
def csrf_token() -> Callable[[FlaskClient], str]:
    return get_csrf_token


@pytest.fixture
def login(client: FlaskClient) -> Callable[..., FlaskClient]:
    def log_in(username: str, password: str = DEMO_PASSWORD) -> FlaskClient:
        response = client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": get_csrf_token(client),
            },
        )
        assert response.status_code == 302, f"login of {username} failed"
        return client

    return log_in
