"""Request parsing and JSON shaping of the API: bodies, query arguments, paging, records.

Views live in web.api (and api_case_ops, api_statistics); nothing here is a route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from engine import paging
from engine import untrusted
from engine.cases import instances
from engine.cases import task_details
from engine.errors import Problem
from engine.execution import processes
from engine.execution.uploads import UploadedFile
from engine.models import HumanTask
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import User

XML_TYPES = frozenset({"application/xml", "text/xml", "application/bpmn+xml"})


PROCESS_ID = re.compile(rb"<(?:\w+:)?process\b[^>]*\bid=\"([A-Za-z_][\w.-]{0,100})\"")


MAX_ID = 2**31 - 1  # ids are INTEGER primary keys: larger ones cannot exist


HTTP_MESSAGES = {
    400: "请求无效。",
    401: "缺少或无效的访问令牌。",
    403: "您无权进行此操作。",
    404: "未找到该记录。",
    405: "不支持此请求方法。",
    409: "该事项已被他人处理或已发生变化。",
    413: "请求体过大。",
    415: "请求体类型不受支持。",
}


class ApiError(Exception):
    """An error the API answers directly: status, code, Chinese message, field errors."""

    def __init__(
        self, status: int, code: str, message: str, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = dict(fields or {})


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "element": problem.element,
        "message": problem.message,
    }


BAD_TEXT_MESSAGES = {
    untrusted.NUL: "请求中含有不允许的控制字符（NUL）。",
    untrusted.SURROGATE: "请求中含有无效的 Unicode 字符（单独的代理项，如 \\ud800）。",
    untrusted.NONCHARACTER: "请求中含有 Unicode 非字符（如 U+FFFF），不能保存。",
}


def _json_text() -> str:
    raw = request.get_data(cache=True)
    if len(raw) > untrusted.MAX_JSON_BYTES:
        raise ApiError(400, "json_too_large", "JSON 请求体过大（最多 1 MiB）。")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", "请求体须为 UTF-8 编码的 JSON。") from exc


def _json_object() -> dict[str, Any]:
    """The request body as a JSON object, refused (400) before it can hurt the engine."""
    if not request.is_json:
        raise ApiError(400, "invalid_json", "请求体须为 JSON 对象。")
    text = _json_text()
    if untrusted.json_too_deep(text):
        message = f"JSON 嵌套层数过多（最多 {untrusted.MAX_JSON_DEPTH} 层）。"
        raise ApiError(400, "json_too_deep", message)
    try:
        body = untrusted.loads_strict(text)
    except ValueError as exc:
        raise ApiError(400, "invalid_json", "请求体须为 JSON 对象。") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体须为 JSON 对象。")
    problem = untrusted.value_problem(body)
    if problem is not None:
        raise ApiError(400, "invalid_request", BAD_TEXT_MESSAGES[problem])
    return body


def _field(body: Mapping[str, Any], key: str, kind: type, *, required: bool = True) -> Any:
    """A top-level body member of the given JSON type ({} for a missing optional object)."""
    if key not in body:
        if required:
            raise ApiError(400, "invalid_request", "请求缺少必填项。", {key: "必填"})
        return kind()
    value = body[key]
    if not isinstance(value, kind):
        raise ApiError(400, "invalid_request", "请求项类型不正确。", {key: "类型不正确"})
    return value


def _query_args(*names: str) -> dict[str, str]:
    """The non-empty query arguments among `names` (a NUL character is refused)."""
    found = {name: request.args[name] for name in names if request.args.get(name)}
    bad = {name: "含有不允许的控制字符" for name, value in found.items() if "\x00" in value}
    if bad:
        raise ApiError(400, "invalid_request", "请求中含有不允许的控制字符（NUL）。", bad)
    return found


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = args.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, "invalid_request", "查询参数取值无效。", {name: "取值无效"})
    return value


def _limit(args: Mapping[str, str]) -> int:
    text = args.get("limit", request.args.get("limit"))  # an empty limit is no number
    if text is None:
        return paging.PAGE_SIZE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= paging.MAX_PAGE_SIZE:
        fields = {"limit": f"须为 1 至 {paging.MAX_PAGE_SIZE} 的整数"}
        raise ApiError(400, "invalid_request", "查询参数取值无效。", fields)
    return int(text)


def _paged(items: list[dict[str, Any]], next_after: str | None) -> ResponseReturnValue:
    """A JSON array of one page; the next page's URL is in the `Link` header (rel="next")."""
    response = jsonify(items)
    if next_after is not None:
        args = {**request.args.to_dict(), "after": next_after}
        response.headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
        response.headers["X-Next-After"] = next_after
    return response


def _checked_id(value: int) -> int:
    if value > MAX_ID:
        raise ApiError(404, "not_found", HTTP_MESSAGES[404])
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def process_json(user: User, definition: ProcessDefinition) -> dict[str, Any]:
    manifest = definition.manifest or {}
    return {
        "process_id": definition.process_id,
        "version": definition.version,
        "title": manifest.get("title") or definition.name or definition.process_id,
        "confidential": bool(manifest.get("confidential", False)),
        "startable": processes.may_start(user, definition),
        "start_form": definition.forms.get("start"),
    }


def task_json(task: HumanTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "instance_id": task.instance_id,
        "process_id": task.process_id,
        "bpmn_id": task.bpmn_id,
        "name": task.name,
        "lane": task.lane,
        "state": str(task.status),
        "due_at": _iso(task.due_at),
        "deadline_warnings": list((task.deadline or {}).get("warnings") or []),
    }


def instance_summary_json(instance: ProcessInstance) -> dict[str, Any]:
    """An instance as lists show it: no data, no tasks."""
    return {
        "id": instance.id,
        "process_id": instance.process_id,
        "title": instance.title,
        "status": str(instance.status),
        "started_org": instance.started_org,
        "township": instance.township_code,
        "started_at": _iso(instance.started_at),
        "completed_at": _iso(instance.completed_at),
    }


def task_detail_json(detail: task_details.TaskDetail) -> dict[str, Any]:
    return {
        **task_json(detail.task),
        "form": detail.schema,
        "instructions": detail.instructions,
        "legal_basis": detail.legal_basis,
        "deadline": detail.task.deadline,
    }


def instance_json(outcome: instances.Outcome) -> dict[str, Any]:
    """The instance as the API shows it, from the step just run (or the one read)."""
    instance = outcome.instance
    return {
        "id": instance.id,
        "process_id": instance.process_id,
        "version": outcome.version,
        "title": instance.title,
        "status": str(instance.status),
        "started_at": _iso(instance.started_at),
        "completed_at": _iso(instance.completed_at),
        "data": outcome.data,
        "tasks": [task_json(t) for t in outcome.tasks],
    }


def _uploaded_models() -> list[UploadedFile]:
    """The model files of a deployment request: an XML body, or multipart files (zips too)."""
    if request.mimetype == "multipart/form-data":
        files = request.files.getlist("file") + request.files.getlist("files")
        if not files:
            raise ApiError(422, "invalid_data", "请在 file 字段上传 .bpmn、.dmn 或 .zip 文件。")
        return [UploadedFile(f.filename or "?", f.read()) for f in files]
    if request.mimetype not in XML_TYPES:
        raise ApiError(415, "unsupported_media_type", HTTP_MESSAGES[415])
    xml = request.get_data()
    return [UploadedFile(request.args.get("filename") or _name_from_xml(xml), xml)]


def _name_from_xml(xml: bytes) -> str:
    """A raw XML body without ?filename= is named after its first process id."""
    match = PROCESS_ID.search(xml[:20000])
    return f"{match.group(1).decode('ascii', 'replace')}.bpmn" if match else "model.bpmn"
