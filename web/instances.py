"""发起 and the instance page: start a process, then follow it on its diagram and timeline."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
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
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine import diagram
from engine.cases import instances
from engine.cases import referrals
from engine.errors import DomainRuleViolation
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.execution import processes
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.monitoring import flags
from engine.people import access
from web import case_ops
from web.auth import login_required
from web.auth import role_required
from web.filters import LOCAL_TZ
from web.form_input import CoercionError
from web.form_input import coerce_form
from web.form_input import values_from_form
from web.form_input import wants_more_rows
from web.form_schema import DisplayValue
from web.form_values import display_rows
from web.form_values import values_from_data
from web.forms_render import build_fields
from web.forms_render import place_errors
from web.labels import error_label
from web.session import get_session
from web.task_display import signed_in_user
from web.task_display import task_rows

logger = logging.getLogger(__name__)

bp = Blueprint("instances", __name__, url_prefix="/instances")

EMPTY_FORM = {"type": "object", "properties": {}}
# Audit kinds left out of the timeline: one per script or gateway step, noise to a reader.
QUIET_KINDS = frozenset({"engine_step"})


@bp.get("/new")
@login_required
def start_list() -> str:
    session, user = get_session(), signed_in_user()
    return render_template(
        "instances/new.html", definitions=processes.startable_processes(session, user)
    )


def _startable(session: Session, user: User, process_id: str) -> ProcessDefinition:
    for definition in processes.startable_processes(session, user):
        if definition.process_id == process_id:
            return definition
    abort(404)


def _render_start(
    definition: ProcessDefinition,
    schema: Mapping[str, Any],
    values: Mapping[str, DisplayValue],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    placed, general = place_errors(schema, errors or {})
    page = render_template(
        "instances/start.html",
        definition=definition,
        schema=schema,
        fields=build_fields(schema, values, placed),
        general_errors=general,
    )
    return page, status


@bp.get("/new/<process_id>")
@login_required
def start_form(process_id: str) -> tuple[str, int]:
    session, user = get_session(), signed_in_user()
    definition = _startable(session, user, process_id)
    schema = processes.get_start_form(session, process_id) or EMPTY_FORM
    return _render_start(definition, schema, values_from_data(schema, {}))


@bp.post("/new/<process_id>")
@login_required
def start(process_id: str) -> Response | tuple[str, int]:
    session, user = get_session(), signed_in_user()
    definition = _startable(session, user, process_id)
    schema = processes.get_start_form(session, process_id) or EMPTY_FORM
    if wants_more_rows(request.form):
        return _render_start(definition, schema, values_from_form(schema, request.form))
    try:
        data = coerce_form(schema, request.form)
        instance = instances.start_instance(session, process_id=process_id, data=data, user=user)
    except (CoercionError, InvalidTaskData, DomainRuleViolation) as exc:
        session.rollback()
        errors = dict(getattr(exc, "field_errors", {}) or {}) or {"_form": error_label(exc.code)}
        values = values_from_form(schema, request.form)
        return _render_start(definition, schema, values, errors, status=422)
    except NotAllowed as exc:
        session.rollback()
        flash(error_label(exc.code), "error")
        return redirect(url_for("instances.start_list"))
    session.commit()
    flash(f"已发起「{definition.manifest.get('title') or definition.name}」。", "success")
    return redirect(_landing(session, user, instance))


def _landing(session: Session, user: User, instance: ProcessInstance) -> str:
    """The instance page, or the status page for a reporter who may not see the referral."""
    if not access.can_view_instance(session, user, instance) and referrals.is_reporter(
        user, instance
    ):
        return url_for("referrals.status", instance_id=instance.id)
    return url_for("instances.show", instance_id=instance.id)


def _diagram_svg(
    session: Session,
    instance: ProcessInstance,
    open_tasks: list[HumanTask],
    audit: list[AuditEvent],
) -> Markup | None:
    """The instance's diagram with its marks, or None when the model has no drawable diagram."""
    xml, process_id = instances.diagram_source(session, instance)
    marks = instances.diagram_marks(session, instance, audit=audit, tasks=open_tasks)
    due_labels = {
        t.bpmn_id: "期限 " + t.due_at.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M")
        for t in open_tasks
        if t.due_at is not None
    }
    try:
        svg = diagram.render_svg(xml, process_id, marks, due_labels)
    except ValueError:
        logger.warning("instance %s: diagram of %s cannot be drawn", instance.id, process_id)
        return None
    return Markup(svg)  # noqa: S704 - built by lxml in engine.diagram, every name escaped


def _case_data(
    definition: ProcessDefinition, data: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], str]:
    """Form fields of the case as (title, readable value), and the rest as JSON for experts."""
    properties: dict[str, Any] = {}
    for form in definition.forms.values():
        for key, prop in (form.get("properties") or {}).items():
            properties.setdefault(key, prop)
    rows = display_rows({"type": "object", "properties": properties}, data)
    rest = {k: v for k, v in data.items() if k not in properties}
    return rows, json.dumps(rest, ensure_ascii=False, indent=2, default=str)


def _display_names(session: Session, audit: list[AuditEvent]) -> dict[str, str]:
    usernames = {e.actor for e in audit}
    if not usernames:
        return {}
    users = session.scalars(select(User).where(User.username.in_(usernames)))
    return {u.username: u.display_name or u.username for u in users}


def _open_tasks(session: Session, instance: ProcessInstance) -> list[HumanTask]:
    stmt = (
        select(HumanTask)
        .where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.OPEN)
        .order_by(HumanTask.created_at)
    )
    return list(session.scalars(stmt))


def _visible_links(
    session: Session, user: User, instance: ProcessInstance
) -> list[ProcessInstance]:
    links = instances.linked_instances(session, instance)
    return [
        i
        for i in links
        if access.can_view_instance(session, user, i)
        and not (i.confidential and i.parent_id == instance.id)
    ]


def _children(session: Session, instance: ProcessInstance) -> list[ProcessInstance]:
    links = instances.linked_instances(session, instance)
    return [i for i in links if i.parent_id == instance.id]


@bp.post("/<int:instance_id>/retry")
@role_required(Role.ADMIN)
def retry(instance_id: int) -> Response:
    """Admin: patch the data and run the failed step again."""
    session, user = get_session(), signed_in_user()
    try:
        patch = json.loads(request.form.get("data_patch") or "{}")
    except json.JSONDecodeError:
        patch = None
    if not isinstance(patch, dict):
        flash('修正数据必须是 JSON 对象，例如 {"amount": 100}。', "error")
        return redirect(url_for("instances.show", instance_id=instance_id))
    instances.retry_instance(
        session, instance_id=instance_id, data_patch=patch, actor=user.username
    )
    session.commit()
    flash("已从出错步骤重试。", "success")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.get("/<int:instance_id>")
@login_required
def show(instance_id: int) -> str:
    session, user = get_session(), signed_in_user()
    try:
        instance = access.get_visible_instance(session, user, instance_id)
    except NotFound:
        abort(404)
    session.commit()  # keeps the audit record of a confidential read
    open_tasks = _open_tasks(session, instance)
    full_audit = instances.list_audit(session, instance.id)
    audit = [e for e in full_audit if e.kind not in QUIET_KINDS]
    return render_template(
        "instances/show.html",
        instance=instance,
        svg=_diagram_svg(session, instance, open_tasks, full_audit),
        open_rows=task_rows(session, open_tasks, now=datetime.now(UTC)),
        audit=audit,
        flags=flags.open_flags(session, instance.id),
        names=instances.element_names(session, instance),
        links=_visible_links(session, user, instance),
        referral_notes=referrals.referral_notes(session, user, _children(session, instance)),
        case_data=_case_data(instance.definition, instances.instance_data(session, instance)),
        people=_display_names(session, audit),
        ops=case_ops.instance_ops(instance, user),
    )
