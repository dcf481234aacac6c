"""JSON API under /api/v1 for other systems: bearer tokens, errors as {code, message, fields}.

Every view answers JSON, including its errors; an instance the caller may not see answers 404
exactly like one that does not exist. The OpenAPI document (web/openapi.py) describes it all.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from engine.cases import inbox
from engine.cases import instance_list
from engine.cases import instances
from engine.cases import messages
from engine.cases import task_details
from engine.cases.instance_list import INSTANCE_LIGHTS
from engine.cases.instance_list import InstanceFilters
from engine.errors import AmbiguousMessage
from engine.errors import EngineError
from engine.errors import WorkflowDefinitionError
from engine.execution import processes
from engine.models import InstanceStatus
from engine.models import Role
from engine.models import User
from engine.people import access
from web import api_statistics
from web.api_io import HTTP_MESSAGES
from web.api_io import ApiError
from web.api_io import _checked_id
from web.api_io import _choice
from web.api_io import _field
from web.api_io import _json_object
from web.api_io import _limit
from web.api_io import _paged
from web.api_io import _problem_json
from web.api_io import _query_args
from web.api_io import _uploaded_models
from web.api_io import instance_json
from web.api_io import instance_summary_json
from web.api_io import process_json
from web.api_io import task_detail_json
from web.api_io import task_json
from web.auth import api_user
from web.errors import allow_header
from web.errors import api_body
from web.errors import status_for
from web.labels import error_label
from web.openapi import openapi_document
from web.openapi import query_parameters
from web.session import get_session

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
RULE_PARAMETER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> ResponseReturnValue:
    return api_body(exc.code, exc.message, exc.fields), exc.status


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError) -> ResponseReturnValue:
    get_session().rollback()
    status = status_for(exc)
    logger.info("api: %s on %s %s: %s", exc.code, request.method, request.path, exc)
    fields: dict[str, str] = getattr(exc, "field_errors", None) or {}
    body = api_body(exc.code, error_label(exc.code), fields)
    if isinstance(exc, WorkflowDefinitionError):
        body["problems"] = [_problem_json(p) for p in exc.problems]
    if isinstance(exc, AmbiguousMessage):
        body["count"] = exc.count
    return body, status


@bp.errorhandler(OperationalError)
def _database_busy(exc: OperationalError) -> ResponseReturnValue:
    """SQLite refused a read's late write (a confidential read's audit row) because another
    writer committed first: 503, to be retried, instead of a 500."""
    if "database is locked" not in str(exc):
        raise exc
    get_session().rollback()
    logger.warning("api: database busy on %s %s", request.method, request.path)
    return api_body("busy", "系统繁忙，请稍后重试。"), 503, {"Retry-After": "1"}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 400
    message = HTTP_MESSAGES.get(status, HTTP_MESSAGES[400])
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else allow_header(exc)
    return api_body(f"http_{status}", message), status, headers


@bp.before_request
def _require_token() -> ResponseReturnValue | None:
    if request.endpoint in PUBLIC_ENDPOINTS or api_user() is not None:
        return None
    return api_body("unauthorized", HTTP_MESSAGES[401]), 401, {"WWW-Authenticate": "Bearer"}


@bp.before_request
def _known_query() -> ResponseReturnValue | None:
    """Query parameters the OpenAPI document does not declare for the operation are refused."""
    rule = request.url_rule.rule if request.url_rule is not None else ""
    path = RULE_PARAMETER.sub(r"{\1}", rule.removeprefix(bp.url_prefix or ""))
    declared = query_parameters(path, request.method)
    unknown = [name for name in request.args if declared is not None and name not in declared]
    if not unknown:
        return None
    fields = dict.fromkeys(unknown, "未知的查询参数")
    return api_body("invalid_request", "请求中含有未知的查询参数。", fields), 400


@bp.before_request
def _options() -> ResponseReturnValue | None:
    # Flask's automatic answer would also list the catch-all route's methods.
    if request.method != "OPTIONS":
        return None
    methods = _methods_of_path()
    if not methods:
        return api_body("not_found", HTTP_MESSAGES[404]), 404
    return "", 200, {"Allow": ", ".join(methods)}


def _user() -> User:
    user = api_user()
    if user is None:
        raise ApiError(401, "unauthorized", HTTP_MESSAGES[401])
    return user


class AnyPathConverter(PathConverter):
    """Like `path`, but also matching newlines, so that every unknown /api/v1 URL lands here."""

    regex = "(?s:.+)"
    part_isolating = False


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["any_path"] = AnyPathConverter


CATCH_ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _methods_of_path() -> list[str]:
    """The methods a real API view (not the catch-all) answers on the request's path."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    methods: set[str] = set()
    for method in CATCH_ALL_METHODS:
        try:
            endpoint, _values = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "api.not_found":
            methods.add(method)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"}) if methods else []


@bp.route("/<any_path:unknown>", methods=list(CATCH_ALL_METHODS))
def not_found(unknown: str) -> ResponseReturnValue:
    """Unknown /api/v1 paths (and ids that are not integers) answer in the API's error shape.

    A known path asked with a method it does not answer gets 405 and its `Allow` header.
    """
    methods = _methods_of_path()
    if methods:
        headers = {"Allow": ", ".join(methods)}
        return api_body("http_405", HTTP_MESSAGES[405]), 405, headers
    return api_body("not_found", HTTP_MESSAGES[404]), 404


bp.add_url_rule("/statistics", view_func=api_statistics.get_statistics, methods=["GET"])
bp.add_url_rule(
    "/exports/statistics.xlsx", view_func=api_statistics.export_statistics, methods=["GET"]
)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.post("/processes")
def deploy_process() -> ResponseReturnValue:
    session, user = get_session(), _user()
    if user.role != Role.ADMIN:
        raise ApiError(403, "not_allowed", HTTP_MESSAGES[403])
    results = processes.deploy_files(session, _uploaded_models(), actor=user.username)
    session.commit()
    deployed = [
        {"process_id": d.process_id, "version": d.version, "created": created}
        for d, created in results
    ]
    warnings = [_problem_json(p) for d, _created in results for p in processes.warnings_of(d)]
    first = deployed[0]
    return {
        "process_id": first["process_id"],
        "version": first["version"],
        "deployed": deployed,
        "warnings": warnings,
    }, 201


@bp.get("/processes")
def list_processes() -> ResponseReturnValue:
    session, user = get_session(), _user()
    return jsonify([process_json(user, d) for d in processes.list_processes(session)])


@bp.post("/instances")
def start_instance() -> ResponseReturnValue:
    session, user = get_session(), _user()
    body = _json_object()
    process_id = _field(body, "process_id", str)
    data = _field(body, "data", dict, required=False)
    outcome = instances.start(session, process_id=process_id, data=data, user=user)
    session.commit()
    if outcome.instance.status == InstanceStatus.ERROR:
        return _step_failed(outcome)
    return instance_json(outcome), 201


@bp.get("/instances/<int:instance_id>")
def get_instance(instance_id: int) -> ResponseReturnValue:
    session, user = get_session(), _user()
    outcome = instances.read_instance(session, user, _checked_id(instance_id))
    if outcome.instance.confidential:
        session.commit()  # keeps the audit record of the confidential read
    return instance_json(outcome)


@bp.get("/tasks")
def list_tasks() -> ResponseReturnValue:
    session, user = get_session(), _user()
    args = _query_args("after", "limit", "process", "light", "due")
    filters = inbox.TaskFilters(
        process_id=args.get("process"),
        due=_choice(args, "due", inbox.DUE_WINDOWS),
        light=_choice(args, "light", inbox.LIGHTS),
    )
    page = inbox.open_task_page(
        session, user, filters, now=datetime.now(UTC), after=args.get("after"), size=_limit(args)
    )
    return _paged([task_json(t) for t in page.items], page.next_after)


@bp.get("/instances")
def list_instances() -> ResponseReturnValue:
    session, user = get_session(), _user()
    args = _query_args("after", "limit", "process", "status", "org", "township", "light")
    filters = InstanceFilters(
        process_id=args.get("process"),
        org_code=args.get("org"),
        township_code=args.get("township"),
        status=_choice(args, "status", tuple(InstanceStatus)),
        light=_choice(args, "light", INSTANCE_LIGHTS),
    )
    now = datetime.now(UTC)
    stmt = instance_list.filtered(access.visible_instances(session, user), filters, now)
    page = instance_list.instance_page(session, stmt, after=args.get("after"), size=_limit(args))
    return _paged([instance_summary_json(i) for i in page.items], page.next_after)


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> ResponseReturnValue:
    session, user = get_session(), _user()
    detail = task_details.get_visible_task(session, user, _checked_id(task_id))
    if detail.confidential:
        session.commit()  # keeps the audit record of a confidential read
    return task_detail_json(detail)


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int) -> ResponseReturnValue:
    session, user = get_session(), _user()
    data = _field(_json_object(), "data", dict, required=False)
    outcome = instances.complete(
        session, task_id=_checked_id(task_id), data=data, user=user, visible_only=True
    )
    session.commit()
    failed_now = outcome.status_before != InstanceStatus.ERROR
    if outcome.instance.status == InstanceStatus.ERROR and failed_now:
        return _step_failed(outcome)
    return instance_json(outcome)


def _step_failed(outcome: instances.Outcome) -> ResponseReturnValue:
    """422: the caller's data made a step fail; the instance (committed) is in error."""
    body = api_body("step_failed", error_label("step_failed"))
    body["incident"] = dict(outcome.instance.error or {})
    body["instance"] = instance_json(outcome)
    return body, 422


@bp.post("/messages")
def deliver_message() -> ResponseReturnValue:
    session, user = get_session(), _user()
    body = _json_object()
    delivered = messages.deliver_message(
        session,
        name=_field(body, "name", str),
        correlation=_field(body, "correlation", dict, required=False),
        payload=_field(body, "payload", dict, required=False),
        deliver_all=_field(body, "all", bool, required=False),
        actor=user.username,
        user=user,
    )
    session.commit()
    return _delivered(session, {"delivered_to": delivered}, delivered)


@bp.post("/signals")
def deliver_signal() -> ResponseReturnValue:
    session, user = get_session(), _user()
    body = _json_object()
    delivered = messages.deliver_signal(
        session,
        name=_field(body, "name", str),
        payload=_field(body, "payload", dict, required=False),
        actor=user.username,
        user=user,
    )
    session.commit()
    return _delivered(session, {"delivered": len(delivered), "delivered_to": delivered}, delivered)


def _delivered(session: Session, body: dict[str, Any], ids: list[int]) -> ResponseReturnValue:
    """202, or 422 when the delivery made a step fail (the incidents are committed)."""
    failed = messages.failed_now(session, ids)
    if not failed:
        return body, 202
    problem = api_body("step_failed", error_label("step_failed"), failed_instances=failed)
    return {**problem, **body}, 422
