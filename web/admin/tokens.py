"""Admin pages for API tokens (接口令牌): issue (shown once) and revoke."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from engine.people import accounts
from web.labels import message
from web.session import get_session


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/tokens", "tokens", tokens_page, methods=["GET"])
    bp.add_url_rule("/tokens", "token_issue", token_issue, methods=["POST"])
    bp.add_url_rule("/tokens/<int:token_id>/revoke", "token_revoke", token_revoke, methods=["POST"])


def _render(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    db = get_session()
    users = {user.id: user for user in accounts.list_users(db)}
    page = render_template(
        "admin/tokens.html",
        tokens=accounts.list_api_tokens(db),
        users=users,
        errors=errors,
        form=request.form,
    )
    return page, status


def tokens_page() -> tuple[str, int]:
    return _render({})


def token_issue() -> tuple[str, int]:
    db = get_session()
    user = accounts.find_user(db, request.form.get("username", ""))
    label = request.form.get("label", "").strip()
    if user is None:
        return _render({"username": message("no_such_user")}, 400)
    if not label:
        return _render({"label": message("token_label_missing")}, 400)
    token = accounts.issue_api_token(db, user, label)
    db.commit()
    page = render_template("admin/token_shown.html", user=user, label=label, token=token)
    return page, 201


def token_revoke(token_id: int) -> Response:
    db = get_session()
    accounts.revoke_token(db, token_id)
    db.commit()
    flash(message("token_revoked"), "success")
    back = request.form.get("back", "")
    if not back.startswith("/admin/") or "//" in back:
        back = url_for("admin.tokens")
    return redirect(back)
