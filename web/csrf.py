"""CSRF protection: one random token per session, required on every state-changing request.

Forms send it as the `csrf_token` field (templates call `csrf_token()`), scripts as the
`X-CSRF-Token` header. Only `/api/v1/` is exempt: it authenticates with bearer tokens and
never reads the session cookie.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from flask import Flask
from flask import abort
from flask import request
from flask import session

logger = logging.getLogger(__name__)

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
EXEMPT_PREFIX = "/api/v1/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def new_csrf_token() -> str:
    """Start a fresh token for the session (after login, to bind it to the new user)."""
    token = secrets.token_urlsafe(32)
    session[SESSION_KEY] = token
    return token


def csrf_token() -> str:
    """The session's token, created on first use; templates put it in every form."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = new_csrf_token()
    return token


def check_csrf() -> None:
    """Refuse (400) a state-changing request whose token is missing or wrong."""
    if request.method in SAFE_METHODS or request.path.startswith(EXEMPT_PREFIX):
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FORM_FIELD) or request.headers.get(HEADER) or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        logger.warning("CSRF check failed for %s %s", request.method, request.path)
        abort(400, description="csrf_failed")


def init_app(app: Flask) -> None:
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
