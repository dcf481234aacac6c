"""Admin pages for users (用户管理): accounts, passwords, locks and certificates."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from engine.errors import Conflict
from engine.errors import InvalidTaskData
from engine.errors import NotFound
from engine.models import Role
from engine.models import User
from engine.people import accounts
from web.filters import LOCAL_TZ
from web.labels import ROLE_LABELS
from web.labels import field_errors
from web.labels import message
from web.session import get_session

USER_FIELDS = ("username", "display_name", "email", "org_code", "role", "password")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/users", "users", users_page, methods=["GET"])
    bp.add_url_rule("/users/new", "user_new", user_new, methods=["GET"])
    bp.add_url_rule("/users", "user_create", user_create, methods=["POST"])
    bp.add_url_rule("/users/<int:user_id>", "user_show", user_show, methods=["GET"])
    bp.add_url_rule(
        "/users/<int:user_id>/password",
        "user_reset_password",
        user_reset_password,
        methods=["POST"],
    )
    bp.add_url_rule(
        "/users/<int:user_id>/active", "user_set_active", user_set_active, methods=["POST"]
    )
    bp.add_url_rule("/users/<int:user_id>/unlock", "user_unlock", user_unlock, methods=["POST"])
    bp.add_url_rule(
        "/users/<int:user_id>/certificates", "certificate_add", certificate_add, methods=["POST"]
    )
    bp.add_url_rule(
        "/users/<int:user_id>/certificates/<int:certificate_id>/delete",
        "certificate_remove",
        certificate_remove,
        methods=["POST"],
    )


def users_page() -> str:
    org_code = request.args.get("org") or None
    db = get_session()
    return render_template(
        "admin/users.html",
        users=accounts.list_users(db, org_code=org_code),
        orgs=accounts.list_orgs(db),
        org_code=org_code,
        now=datetime.now(UTC),
    )


def _render_new(errors: dict[str, str], form: dict[str, str], status: int) -> tuple[str, int]:
    page = render_template(
        "admin/user_new.html",
        orgs=accounts.list_orgs(get_session()),
        roles=ROLE_LABELS,
        errors=errors,
        form=form,
    )
    return page, status


def user_new() -> tuple[str, int]:
    return _render_new({}, {}, 200)


def user_create() -> tuple[str, int]:
    form = {key: request.form.get(key, "").strip() for key in USER_FIELDS}
    if form["role"] not in set(Role):
        return _render_new(field_errors(["role"]), form, 400)
    try:
        user, generated = accounts.create_user(
            get_session(),
            username=form["username"],
            org_code=form["org_code"],
            role=Role(form["role"]),
            password=form["password"] or None,
            display_name=form["display_name"],
            email=form["email"] or None,
        )
    except InvalidTaskData as exc:
        return _render_new(field_errors(exc.field_errors), form, 400)
    except NotFound:
        return _render_new(field_errors(["org_code"]), form, 400)
    except Conflict:
        return _render_new({"username": message("username_taken")}, form, 400)
    get_session().commit()
    return render_template("admin/password_shown.html", user=user, password=generated), 201


def _user_page(user: User, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    page = render_template(
        "admin/user.html",
        user=user,
        tokens=accounts.list_api_tokens(get_session(), user_id=user.id),
        errors=errors,
        form=request.form,
        today=datetime.now(LOCAL_TZ).date(),
    )
    return page, status


def user_show(user_id: int) -> tuple[str, int]:
    return _user_page(accounts.get_user(get_session(), user_id), {})


def user_reset_password(user_id: int) -> str:
    db = get_session()
    user = accounts.get_user(db, user_id)
    password = accounts.generate_password()
    accounts.set_password(db, user, password)
    db.commit()
    return render_template("admin/password_shown.html", user=user, password=password)


def user_set_active(user_id: int) -> Response:
    db = get_session()
    user = accounts.get_user(db, user_id)
    accounts.set_active(db, user, request.form.get("active") == "1")
    db.commit()
    key = "user_enabled" if user.active else "user_disabled"
    flash(message(key, username=user.username), "success")
    return redirect(url_for("admin.user_show", user_id=user_id))


def user_unlock(user_id: int) -> Response:
    db = get_session()
    user = accounts.get_user(db, user_id)
    accounts.unlock(db, user)
    db.commit()
    flash(message("user_unlocked", username=user.username), "success")
    return redirect(url_for("admin.user_show", user_id=user_id))


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def certificate_add(user_id: int) -> tuple[str, int] | Response:
    db = get_session()
    user = accounts.get_user(db, user_id)
    valid_until = _parse_date(request.form.get("valid_until", ""))
    if valid_until is None:
        return _user_page(user, field_errors(["valid_until"]), 400)
    try:
        accounts.add_certificate(
            db,
            user,
            number=request.form.get("number", ""),
            fields=re.split(r"[,，、\s]+", request.form.get("fields", "")),
            valid_from=_parse_date(request.form.get("valid_from", "")),
            valid_until=valid_until,
        )
    except InvalidTaskData as exc:
        return _user_page(user, field_errors(exc.field_errors), 400)
    except Conflict:
        return _user_page(user, {"number": message("certificate_taken")}, 400)
    db.commit()
    flash(message("certificate_added"), "success")
    return redirect(url_for("admin.user_show", user_id=user_id))


def certificate_remove(user_id: int, certificate_id: int) -> Response:
    db = get_session()
    accounts.remove_certificate(db, certificate_id)
    db.commit()
    flash(message("certificate_removed"), "success")
    return redirect(url_for("admin.user_show", user_id=user_id))
