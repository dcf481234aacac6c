"""API routes of the case operations: 退回, 撤回, 挂起, 恢复, 终止 (on web.api's blueprint).

A missing or blank reason answers 422 (field `reason`), a state that does not allow the
operation 409, a user who may not do it 403.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.cases import instances
from engine.cases import operations
from engine.cases import suspension
from engine.errors import NotFound
from engine.models import HumanTask
from engine.people import access
from web.api import _user
from web.api import bp
from web.api_io import _checked_id
from web.api_io import _field
from web.api_io import _json_object
from web.api_io import instance_json
from web.session import get_session


def _visible_task(task_id: int) -> HumanTask:
    session, user = get_session(), _user()
    task = session.get(HumanTask, _checked_id(task_id))
    if task is None:
        raise NotFound(f"task {task_id} not found")
    access.get_visible_instance(session, user, task.instance_id)
    return task


def _optional_body() -> dict[str, Any]:
    return _json_object() if request.get_data(cache=True) else {}


@bp.post("/tasks/<int:task_id>/return")
def return_task(task_id: int) -> ResponseReturnValue:
    session, user = get_session(), _user()
    body = _json_object()
    to = _field(body, "to", str)
    reason = _field(body, "reason", str, required=False)
    task = _visible_task(task_id)
    instance = operations.return_task(session, task_id=task.id, to=to, reason=reason, user=user)
    session.commit()
    return instance_json(instances.read_instance(session, user, instance.id))


@bp.post("/tasks/<int:task_id>/withdraw")
def withdraw_task(task_id: int) -> ResponseReturnValue:
    session, user = get_session(), _user()
    reason = _field(_optional_body(), "reason", str, required=False)
    task = _visible_task(task_id)
    instance = operations.withdraw_task(session, task_id=task.id, user=user, reason=reason)
    session.commit()
    return instance_json(instances.read_instance(session, user, instance.id))


OPERATIONS = {
    "suspend": suspension.suspend_instance,
    "resume": suspension.resume_instance,
    "terminate": suspension.terminate_instance,
}


@bp.post("/instances/<int:instance_id>/<any(suspend, resume, terminate):operation>")
def manage_instance(instance_id: int, operation: str) -> ResponseReturnValue:
    session, user = get_session(), _user()
    reason = _field(_json_object(), "reason", str, required=False)
    access.get_visible_instance(session, user, _checked_id(instance_id))
    instance = OPERATIONS[operation](
        session, instance_id=instance_id, reason=reason or None, user=user
    )
    session.commit()
    return instance_json(instances.read_instance(session, user, instance.id))
