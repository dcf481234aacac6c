"""One SQLAlchemy Session per request, opened on first use and closed on teardown; settings.

Closing rolls back whatever the view did not commit; a state-changing view commits once,
after its engine call returns.
"""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import g
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.settings import Settings

EXTENSION_KEY = "xietong.session_factory"
SETTINGS_KEY = "XIETONG_SETTINGS"


def app_settings() -> Settings:
    """The settings the application was created with."""
    settings: Settings = current_app.config[SETTINGS_KEY]
    return settings


def init_app(app: Flask, factory: sessionmaker[Session]) -> None:
    app.extensions[EXTENSION_KEY] = factory
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """The request's session, opened lazily."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions[EXTENSION_KEY]
        g.db_session = factory()
    session: Session = g.db_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
