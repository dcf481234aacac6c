"""Login, logout, password change, the current user, guards, and API bearer-token users.

Every page needs a logged-in user (checked once in `require_login`), except the login page,
static files, the public draw verification and the `api` blueprint, whose views call
`api_user()` for the bearer token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import TypeVar
from typing import cast

from flask import Blueprint
from flask import abort
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from werkzeug.wrappers import Response

from engine.errors import EngineError
from engine.errors import InvalidTaskData
from engine.models import Role
from engine.models import User
from engine.people import accounts
from engine.people import sessions
from web.csrf import new_csrf_token
from web.labels import error_label
from web.labels import field_errors
from web.labels import message
from web.nav import has_home_page
from web.nav import home_url
from web.redirects import safe_next_path
from web.session import app_settings
from web.session import get_session

bp = Blueprint("auth", __name__)

# planning.verify: anyone may replay a random draw (双随机、一公开).
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.login_submit", "static", "planning.verify"})
PUBLIC_BLUEPRINTS = frozenset({"api"})
# The cookie holds only the random id of a server-side session (engine.people.sessions).
SESSION_ID_KEY = "sid"

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User | None:
    """The logged-in user of this request, or None."""
    user: User | None = g.get("user")
    return user


def load_user() -> None:
    """Put the user of a live server-side session on `g.user` before each request."""
    g.user = None
    session_id = session.get(SESSION_ID_KEY)
    if not isinstance(session_id, str) or request.endpoint == "static":
        return
    db = get_session()
    user = sessions.find_session_user(
        db, session_id, now=datetime.now(UTC), settings=app_settings()
    )
    db.commit()  # keeps the session's last-seen time
    if user is None:
        session.clear()
        return
    g.user = user


def _start_login(user: User) -> None:
    """A fresh cookie (new CSRF token) bound to a new server-side session of the user."""
    session_id = sessions.start_session(
        get_session(), user, now=datetime.now(UTC), settings=app_settings()
    )
    session.clear()
    session[SESSION_ID_KEY] = session_id
    new_csrf_token()


def require_login() -> Response | None:
    """Send anonymous visitors of non-public pages to the login page."""
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.blueprint in PUBLIC_BLUEPRINTS or current_user() is not None:
        return None
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def login_required(view: F) -> F:
    """Decorator: anonymous users are redirected to the login page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def role_required(*roles: Role) -> Callable[[F], F]:
    """Decorator: users without one of the roles get 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def api_user() -> User | None:
    """The active user of the request's `Authorization: Bearer <token>`, or None."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = None
        if scheme.lower() == "bearer" and token.strip():
            user = accounts.user_for_token(get_session(), token.strip())
        g.api_user = user
    found: User | None = g.api_user
    return found


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect); else the inbox."""
    return safe_next_path(target) or home_url()


@bp.get("/login")
def login() -> str | Response:
    if current_user() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@bp.post("/login")
def login_submit() -> str | Response:
    db = get_session()
    username = request.form.get("username", "")
    try:
        user = accounts.authenticate(
            db, username, request.form.get("password", ""), datetime.now(UTC)
        )
    except EngineError as exc:
        db.commit()  # keep the failure count and lock
        flash(error_label(exc.code), "error")
        return render_template(
            "auth/login.html", next=request.form.get("next", ""), username=username
        )
    _start_login(user)
    db.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """End every session of the user (all browsers), not only this cookie."""
    user = current_user()
    if user is not None:
        sessions.end_user_sessions(get_session(), user.id, now=datetime.now(UTC))
        get_session().commit()
    session.clear()
    flash(message("logged_out"), "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
def home() -> str | Response:
    if has_home_page():
        return redirect(home_url())
    return render_template("auth/home.html")


@bp.get("/account/password")
def password_form() -> str:
    return render_template("auth/password.html", errors={})


@bp.post("/account/password")
@login_required
def password_submit() -> tuple[str, int] | Response:
    user = current_user()
    if user is None:
        abort(401)
    new = request.form.get("new_password", "")
    errors = _password_change_errors(user, new)
    if not errors:
        try:
            accounts.set_password(get_session(), user, new)
        except InvalidTaskData:
            errors = field_errors(["new_password"])
    if errors:
        return render_template("auth/password.html", errors=errors), 400
    _start_login(user)  # set_password ended every session, this one included
    get_session().commit()
    flash(message("password_changed"), "success")
    return redirect(home_url())


def _password_change_errors(user: User, new: str) -> dict[str, str]:
    if not accounts.verify_password(user.password_hash, request.form.get("old_password", "")):
        return {"old_password": message("old_password_wrong")}
    if new != request.form.get("confirm_password", ""):
        return {"confirm_password": message("passwords_differ")}
    return {}
