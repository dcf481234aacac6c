"""One SQLAlchemy Session per request, opened on first use and closed on teardown; settings.

Closing rolls back whatever the view did not commit; a state-changing view commits once,
after its engine call returns. GET, HEAD and OPTIONS requests of the API read on
`read_only_engine`: on SQLite their transactions start deferred, so readers do not queue
behind writers. Pages keep BEGIN IMMEDIATE: a page request may write first (the server-side
session's last-seen time), and a deferred transaction that read and then writes fails when
another writer committed in between.
"""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.db import read_only_engine
from engine.settings import Settings

EXTENSION_KEY = "xietong.session_factory"
READ_ENGINE_KEY = "xietong.read_engine"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_BLUEPRINTS = frozenset({"api"})
SETTINGS_KEY = "XIETONG_SETTINGS"


def app_settings() -> Settings:
    """The settings the application was created with."""
    settings: Settings = current_app.config[SETTINGS_KEY]
    return settings


def init_app(app: Flask, factory: sessionmaker[Session]) -> None:
    app.extensions[EXTENSION_KEY] = factory
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine):
        app.extensions[READ_ENGINE_KEY] = read_only_engine(bind)
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """The request's session, opened lazily."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions[EXTENSION_KEY]
        read_engine = current_app.extensions.get(READ_ENGINE_KEY)
        reading = (
            has_request_context()
            and request.method in READ_METHODS
            and request.blueprint in READ_BLUEPRINTS
        )
        g.db_session = factory(bind=read_engine) if reading and read_engine else factory()
    session: Session = g.db_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
