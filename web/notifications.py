"""The notification bell (通知): unread count in the top bar, the list, mark as read.

The count is put in every template by a context processor (`unread_notifications`); the
bell partial `_notifications/bell.html` is included by base.html when a user is signed in.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from engine.models import User
from engine.monitoring import notifications
from engine.monitoring.models import Flag
from web.auth import current_user
from web.paging import after_arg
from web.paging import first_url
from web.paging import next_url
from web.session import get_session

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

ALL_READ = "已将 {count} 条通知标为已读。"


def _signed_in() -> User:
    user = current_user()
    if user is None:
        abort(401)
    return user


@bp.app_context_processor
def unread_context() -> dict[str, int | None]:
    """`unread_notifications`: the bell's number, None without a signed-in user."""
    user: User | None = g.get("user")
    if user is None:
        return {"unread_notifications": None}
    if "unread_notifications" not in g:
        g.unread_notifications = notifications.unread_count(get_session(), user)
    count: int = g.unread_notifications
    return {"unread_notifications": count}


@bp.get("/")
def index() -> str:
    db, user = get_session(), _signed_in()
    page = notifications.notification_page(db, user, after=after_arg())
    flag_ids = {row.flag_id for row in page.items if row.flag_id is not None}
    query = select(Flag.id, Flag.instance_id).where(Flag.id.in_(flag_ids))
    instances = {flag_id: instance_id for flag_id, instance_id in db.execute(query)}
    return render_template(
        "notifications/index.html",
        notifications=page.items,
        instance_of={
            row.id: instances.get(row.flag_id) for row in page.items if row.flag_id is not None
        },
        next_href=next_url(page.next_after),
        first_href=first_url(),
    )


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id: int) -> Response:
    db, user = get_session(), _signed_in()
    notification = notifications.mark_read(db, user, notification_id)
    db.commit()
    if request.form.get("open") == "1" and notification.flag_id is not None:
        flag = db.get(Flag, notification.flag_id)
        if flag is not None:
            return redirect(url_for("instances.show", instance_id=flag.instance_id))
    return redirect(url_for("notifications.index", _anchor=f"n{notification.id}"))


@bp.post("/read-all")
def mark_all_read() -> Response:
    db, user = get_session(), _signed_in()
    count = notifications.mark_all_read(db, user)
    db.commit()
    flash(ALL_READ.format(count=count), "success")
    return redirect(url_for("notifications.index"))
