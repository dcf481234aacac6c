"""退回, 撤回, 挂起, 恢复, 终止 on the task and instance pages (forms with a reason, CSRF-checked).

Each view calls one engine function and redirects back to the page with a flash message;
a missing reason or a refused operation is flashed as an error (nothing changes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine.cases import instances
from engine.cases import operations
from engine.cases import suspension
from engine.errors import Conflict
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.models import ACTIVE_STATUSES
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.people import access
from web.auth import login_required
from web.labels import error_label
from web.session import get_session
from web.task_display import signed_in_user

bp = Blueprint("case_ops", __name__)

REFUSED = (Conflict, NotAllowed, InvalidTaskData)


@dataclass(frozen=True)
class TaskOps:
    """What the task page offers: return targets (id, name), withdraw, and why it reopened."""

    return_targets: list[tuple[str, str]]
    may_withdraw: bool
    notice: AuditEvent | None


def task_ops(session: Session, task: HumanTask, instance: ProcessInstance, user: User) -> TaskOps:
    running = instance.status in ACTIVE_STATUSES
    targets: list[tuple[str, str]] = []
    if running and task.status == TaskStatus.OPEN and access.can_act_on_task(user, task):
        names = instances.element_names(session, instance)
        manifest = instance.definition.manifest
        targets = [(t, names.get(t, t)) for t in operations.return_targets(manifest, task.bpmn_id)]
    completed_by_me = task.status == TaskStatus.COMPLETED and task.completed_by_id == user.id
    return TaskOps(targets, running and completed_by_me, operations.return_notice(session, task))


@dataclass(frozen=True)
class InstanceOps:
    """Which of 挂起, 恢复, 终止 the instance page offers the user."""

    suspend: bool
    resume: bool
    terminate: bool


def instance_ops(instance: ProcessInstance, user: User) -> InstanceOps:
    if not suspension.may_manage(user, instance):
        return InstanceOps(False, False, False)
    return InstanceOps(
        suspend=instance.status in ACTIVE_STATUSES,
        resume=instance.status == InstanceStatus.SUSPENDED,
        terminate=instance.status in suspension.TERMINABLE,
    )


def _visible_task(session: Session, user: User, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id)
    try:
        if task is None:
            raise NotFound(f"task {task_id} not found")
        access.get_visible_instance(session, user, task.instance_id)
    except NotFound:
        abort(404)
    return task


def _run(action: Callable[[], object], done: str, back: str) -> Response:
    session = get_session()
    try:
        action()
    except REFUSED as exc:
        session.rollback()
        fields: dict[str, str] = getattr(exc, "field_errors", {}) or {}
        flash(fields.get("reason") or fields.get("to") or error_label(exc.code), "error")
    else:
        session.commit()
        flash(done, "success")
    return redirect(back)


def _reason() -> str:
    return request.form.get("reason", "")


@bp.post("/tasks/<int:task_id>/return")
@login_required
def return_task(task_id: int) -> Response:
    session, user = get_session(), signed_in_user()
    task = _visible_task(session, user, task_id)
    to = request.form.get("to", "")

    def action() -> object:
        return operations.return_task(session, task_id=task_id, to=to, reason=_reason(), user=user)

    back = url_for("instances.show", instance_id=task.instance_id)
    return _run(action, "已退回。", back)


@bp.post("/tasks/<int:task_id>/withdraw")
@login_required
def withdraw_task(task_id: int) -> Response:
    session, user = get_session(), signed_in_user()
    _visible_task(session, user, task_id)

    def action() -> object:
        return operations.withdraw_task(session, task_id=task_id, user=user, reason=_reason())

    return _run(action, "已撤回，请重新办理。", url_for("tasks.show", task_id=task_id))


MANAGE: dict[str, tuple[Callable[..., Any], str]] = {
    "suspend": (suspension.suspend_instance, "已挂起，期限暂停计算。"),
    "resume": (suspension.resume_instance, "已恢复办理。"),
    "terminate": (suspension.terminate_instance, "已终止。"),
}


@bp.post("/instances/<int:instance_id>/<any(suspend, resume, terminate):operation>")
@login_required
def manage(instance_id: int, operation: str) -> Response:
    session, user = get_session(), signed_in_user()
    try:
        access.get_visible_instance(session, user, instance_id)
    except NotFound:
        abort(404)
    function, done = MANAGE[operation]

    def action() -> object:
        return function(session, instance_id=instance_id, reason=_reason(), user=user)

    return _run(action, done, url_for("instances.show", instance_id=instance_id))
