"""The Flask application factory: wires settings, database sessions, guards and blueprints."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import abort
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.db import make_engine
from engine.db import make_session_factory
from engine.settings import Settings
from engine.settings import load_settings
from web import api
from web import api_case_ops  # noqa: F401 - registers its routes on api.bp
from web import auth
from web import calendar_banner
from web import case_ops
from web import csrf
from web import errors
from web import filters
from web import headers
from web import instances
from web import nav
from web import notifications
from web import planning
from web import referrals
from web import session
from web import statistics
from web import supervision
from web import tasks
from web.admin import bp as admin_bp
from web.session import SETTINGS_KEY

logger = logging.getLogger(__name__)

MAX_ROW_ID = 2**31 - 1
MAX_UPLOAD_BYTES = 10 * 1024 * 1024

BLUEPRINTS: tuple[Blueprint, ...] = (
    auth.bp,
    tasks.bp,
    instances.bp,
    case_ops.bp,
    referrals.bp,
    supervision.bp,
    statistics.bp,
    api.bp,
    planning.bp,
    notifications.bp,
    admin_bp,
)


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> Flask:
    """Build the web application; `session_factory` defaults to one for settings.database_url."""
    settings = settings or load_settings()
    if settings.secret_key == Settings.secret_key:
        logger.warning("XIETONG_SECRET_KEY is not set: sessions are signed with the public dev key")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
    )
    app.config[SETTINGS_KEY] = settings
    session.init_app(app, session_factory or make_session_factory(make_engine(settings)))
    csrf.init_app(app)
    app.before_request(auth.load_user)
    app.before_request(auth.require_login)
    errors.init_app(app)
    headers.init_app(app)
    filters.init_app(app)
    nav.init_app(app)
    calendar_banner.init_app(app)
    app.url_value_preprocessor(_reject_impossible_ids)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app


def _reject_impossible_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Ids are INTEGER primary keys; a larger number in a URL is a 404, not a database error.
    if values and any(isinstance(v, int) and v > MAX_ROW_ID for v in values.values()):
        abort(404)
