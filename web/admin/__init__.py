"""The admin blueprint: organizations, users with certificates, API tokens, the holiday
calendar and the planning registries.

Guarded once: every view needs the admin role (anonymous users were already sent to login).
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import redirect
from flask import url_for
from werkzeug.wrappers import Response

from engine.models import Role
from web.admin import calendar
from web.admin import calendar_import
from web.admin import orgs
from web.admin import plans
from web.admin import registries
from web.admin import tokens
from web.admin import users
from web.auth import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_admin() -> None:
    user = current_user()
    if user is None or user.role != Role.ADMIN:
        abort(403)


@bp.get("/")
def index() -> Response:
    return redirect(url_for("admin.users"))


for module in (orgs, users, tokens, calendar, calendar_import, registries, plans):
    module.register(bp)
