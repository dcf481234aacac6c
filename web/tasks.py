"""待办 and 已办: the inbox, the task page with its form, claim, release and reassign."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine.cases import inbox as task_inbox
from engine.cases import instances
from engine.cases import referrals
from engine.cases import task_details
from engine.errors import Conflict
from engine.errors import DomainRuleViolation
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.execution import processes
from engine.models import HumanTask
from engine.models import TaskStatus
from engine.models import User
from engine.people import access
from engine.people import accounts
from web import case_ops
from web.auth import login_required
from web.form_input import CoercionError
from web.form_input import coerce_form
from web.form_input import values_from_form
from web.form_input import wants_more_rows
from web.form_values import display_rows
from web.form_values import offered_choices
from web.form_values import values_from_data
from web.forms_render import build_fields
from web.forms_render import place_errors
from web.labels import LIGHT_LABELS
from web.labels import REFERRAL_STAGE_LABELS
from web.labels import error_label
from web.paging import after_arg
from web.paging import first_url
from web.paging import next_url
from web.session import get_session
from web.task_display import context_items
from web.task_display import iso_localtime
from web.task_display import signed_in_user
from web.task_display import task_rows

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

bp.add_app_template_filter(iso_localtime, "isotime")

DUE_FILTERS = ("overdue", "today", "week")
REASON_FIELD = "on_behalf_reason"


@dataclass(frozen=True)
class InboxFilters:
    """The inbox filters as given in the query string (unknown values are dropped)."""

    process_id: str | None
    due: str | None
    status: str | None

    @classmethod
    def from_args(cls, args: Any) -> InboxFilters:
        due = args.get("due") or None
        status = args.get("status") or None
        return cls(
            process_id=args.get("process") or None,
            due=due if due in DUE_FILTERS else None,
            status=status if status in LIGHT_LABELS else None,
        )


@bp.get("/")
@login_required
def inbox() -> str:
    session, user = get_session(), signed_in_user()
    filters = InboxFilters.from_args(request.args)
    now = datetime.now(UTC)
    wanted = task_inbox.TaskFilters(filters.process_id, filters.due, filters.status)
    page = task_inbox.open_task_page(session, user, wanted, now=now, after=after_arg())
    team = task_inbox.team_task_page(session, user, now=now, after=after_arg("team_after"))
    return render_template(
        "tasks/inbox.html",
        rows=task_rows(session, page.items, now=now),
        counts=task_inbox.count_open_tasks(session, user, wanted, now=now),
        next_href=next_url(page.next_after),
        first_href=first_url(),
        team_rows=task_rows(session, team.items, now=now),
        team_next_href=next_url(team.next_after, "team_after"),
        filters=filters,
        processes=processes.list_processes(session),
        status_filters=LIGHT_LABELS,
    )


@bp.get("/done")
@login_required
def done() -> str:
    session, user = get_session(), signed_in_user()
    page = task_inbox.done_task_page(session, user, after=after_arg())
    return render_template(
        "tasks/done.html",
        rows=task_rows(session, page.items, now=None),
        reported=referrals.list_reported_referrals(session, user),
        stage_labels=REFERRAL_STAGE_LABELS,
        process_titles={
            d.process_id: d.manifest.get("title") or d.name
            for d in processes.list_processes(session)
        },
        next_href=next_url(page.next_after),
        first_href=first_url(),
    )


def _visible_view(session: Session, user: User, task_id: int) -> instances.TaskView:
    """The task view if the user may see the task's instance; 404 otherwise."""
    try:
        view = instances.get_task_view(session, task_id)
        access.get_visible_instance(session, user, view.task.instance_id)
    except NotFound:
        abort(404)
    session.commit()  # keeps the audit record of a confidential read
    return view


def _mode(user: User, task: HumanTask) -> str:
    if access.can_act_on_task(user, task):
        return "act"
    if access.can_act_on_behalf(user, task):
        return "on_behalf"
    return "read"


def _render_task(
    view: instances.TaskView,
    user: User,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    placed, general = place_errors(view.schema, errors or {})
    reason_error = placed.pop(REASON_FIELD, None) or (errors or {}).get(REASON_FIELD)
    general = [m for m in general if m != reason_error]
    session = get_session()
    page = render_template(
        "tasks/show.html",
        view=view,
        mode=_mode(user, view.task),
        fields=build_fields(view.schema, values, placed),
        general_errors=general,
        reason=request.form.get(REASON_FIELD, ""),
        reason_error=reason_error,
        colleagues=_colleagues(session, view.task, user),
        row=task_rows(session, [view.task], now=datetime.now(UTC))[0],
        submitted=display_rows(view.schema, _submitted_data(session, view.task)),
        context=context_items(view.schema, view.data),
        ops=case_ops.task_ops(session, view.task, view.instance, user),
    )
    return page, status


def _submitted_data(session: Session, task: HumanTask) -> dict[str, Any]:
    """What was entered when the task was completed (empty while it is open)."""
    if task.status == TaskStatus.OPEN:
        return {}
    for event in instances.list_audit(session, task.instance_id):
        if event.kind == "task_completed" and event.task_guid == task.guid:
            return event.data_after or {}
    return {}


def _colleagues(session: Session, task: HumanTask, user: User) -> list[User]:
    """Users of the task's organization it may be reassigned to."""
    if task.status != TaskStatus.OPEN or task.org_code != user.org_code:
        return []
    return [
        u
        for u in accounts.list_users(session, org_code=task.org_code)
        if u.active
        and u.id not in (task.assignee_id, user.id)
        and (task.role is None or u.role == task.role)
    ]


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int) -> tuple[str, int]:
    session, user = get_session(), signed_in_user()
    view = _visible_view(session, user, task_id)
    return _render_task(view, user, values=values_from_data(view.schema, view.data))


def _posted_values(view: instances.TaskView) -> dict[str, Any]:
    """What the user posted, with the choices the server offers from the task's data."""
    return {
        **values_from_form(view.schema, request.form),
        **offered_choices(view.schema, view.data),
    }


def _submission_errors(exc: Exception) -> dict[str, str]:
    field_errors: dict[str, str] = dict(getattr(exc, "field_errors", {}) or {})
    if not field_errors and isinstance(exc, DomainRuleViolation | InvalidTaskData):
        field_errors["_form"] = error_label(exc.code)
    return field_errors


@bp.post("/<int:task_id>")
@login_required
def submit(task_id: int) -> Response | tuple[str, int]:
    """Complete the task in one step: its form comes from the cached definition and the step
    checks visibility on the row it locks; only a page shown again loads the task's state."""
    session, user = get_session(), signed_in_user()
    view = _visible_view(session, user, task_id)
    if wants_more_rows(request.form):
        return _render_task(view, user, values=_posted_values(view))
    reason = request.form.get(REASON_FIELD, "").strip() or None
    if reason is None and _mode(user, view.task) == "on_behalf":
        values = _posted_values(view)
        errors = {REASON_FIELD: "代为办理须填写理由"}
        return _render_task(view, user, values=values, errors=errors, status=422)
    try:
        detail = task_details.get_visible_task(session, user, task_id, audit_read=False)
    except NotFound:
        abort(404)
    if wants_more_rows(request.form):
        return _rerender(session, user, task_id)
    reason = request.form.get(REASON_FIELD, "").strip() or None
    if reason is None and _mode(user, detail.task) == "on_behalf":
        return _rerender(session, user, task_id, {REASON_FIELD: "代为办理须填写理由"})
    try:
        data = coerce_form(detail.schema, request.form)
        outcome = instances.complete(
            session,
            task_id=task_id,
            data=data,
            user=user,
            on_behalf_reason=reason,
            visible_only=True,
        )
    except (CoercionError, InvalidTaskData, DomainRuleViolation) as exc:
        session.rollback()
        values = _posted_values(view)
        return _render_task(view, user, values=values, errors=_submission_errors(exc), status=422)
    except (Conflict, NotAllowed) as exc:
        session.rollback()
        flash(error_label(exc.code), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    except NotFound:
        abort(404)
    session.commit()
    flash(f"「{detail.task.name}」已办理。", "success")
    return redirect(url_for("instances.show", instance_id=outcome.instance.id))


def _rerender(
    session: Session, user: User, task_id: int, errors: dict[str, str] | None = None
) -> tuple[str, int]:
    """The task page again with the submitted values (and errors: 422)."""
    view = _visible_view(session, user, task_id)
    values = values_from_form(view.schema, request.form)
    return _render_task(view, user, values=values, errors=errors, status=422 if errors else 200)


def _visible_task(session: Session, user: User, task_id: int) -> HumanTask:
    """The task if the user may see its instance; 404 otherwise (without loading the form)."""
    task = session.get(HumanTask, task_id)
    try:
        if task is None:
            raise NotFound(f"task {task_id} not found")
        access.get_visible_instance(session, user, task.instance_id)
    except NotFound:
        abort(404)
    return task


def _task_action(task_id: int, action: Callable[..., object], done: str, **kwargs: Any) -> Response:
    session, user = get_session(), signed_in_user()
    _visible_task(session, user, task_id)
    try:
        action(session, task_id=task_id, user=user, **kwargs)
    except (Conflict, NotAllowed, NotFound) as exc:
        session.rollback()
        flash(error_label(exc.code), "error")
    else:
        session.commit()
        flash(done, "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Response:
    return _task_action(task_id, task_inbox.claim_task, "已认领，此任务现由您办理。")


@bp.post("/<int:task_id>/release")
@login_required
def release(task_id: int) -> Response:
    return _task_action(task_id, task_inbox.release_task, "已退回本单位待办。")


@bp.post("/<int:task_id>/reassign")
@login_required
def reassign(task_id: int) -> Response:
    to_user_id = request.form.get("to_user_id", type=int)
    if to_user_id is None:
        flash("请选择转办人员。", "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    return _task_action(task_id, task_inbox.reassign_task, "已转办。", to_user_id=to_user_id)
