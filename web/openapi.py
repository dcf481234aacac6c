"""The hand-written OpenAPI 3.1 document of the /api/v1 JSON API (served by web.api).

Keep it in step with web/api.py: tests/integration/web/test_schemathesis.py checks every
response against it.
"""

from __future__ import annotations

import copy
from typing import Any

from web import openapi_statistics
from web.openapi_schemas import ID
from web.openapi_schemas import SCHEMAS
from web.openapi_schemas import _error
from web.openapi_schemas import _errors
from web.openapi_schemas import _json
from web.openapi_schemas import _ref

JSON_BODY_ERRORS = ("400", "404", "422")

LIGHTS = ["green", "yellow", "red"]
STATUSES = ["running", "waiting", "completed", "error", "cancelled"]


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PAGE_PARAMETERS = [
    _query(
        "after",
        # engine.paging.Cursor.encode: microseconds since 1970 (or n) and the row id; empty = first.
        {"type": "string", "pattern": "^((-?[0-9]{1,16}|n)\\.[0-9]{1,18})?$"},
        "上一页响应 Link 头（rel=next）或 X-Next-After 头给出的游标",
    ),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "每页条数，默认 50"),
]
NEXT_PAGE_HEADERS = {
    "Link": {"description": '下一页的地址，rel="next"；最后一页没有', "schema": {"type": "string"}},
    "X-Next-After": {"description": "下一页的游标；最后一页没有", "schema": {"type": "string"}},
}


def _page_of(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": f"{description}（每页一部分，见 Link 头）",
        "headers": NEXT_PAGE_HEADERS,
        "content": _json({"type": "array", "items": _ref(schema)}),
    }


PATHS: dict[str, Any] = {
    "/processes": {
        "get": {
            "operationId": "listProcesses",
            "summary": "已部署流程（每个流程的最新版本）",
            "responses": {
                "200": {
                    "description": "流程列表",
                    "content": _json({"type": "array", "items": _ref("Process")}),
                },
                **_errors(),
            },
        },
        "post": {
            "operationId": "deployProcess",
            "summary": "部署流程模型（仅系统管理员）",
            "description": (
                "一个 BPMN 文件（XML 请求体），或以 multipart 上传的多个 .bpmn/.dmn 文件"
                "或 zip 包（字段 file），作为一次部署：其中每个可执行流程都部署，"
                "调用活动和业务规则任务可跨文件引用。"
            ),
            "parameters": [
                {
                    "name": "filename",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "XML 请求体的文件名，用于问题报告（缺省时用流程 id）",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                }
                            },
                        }
                    },
                },
            },
            "responses": {
                "201": {"description": "已部署", "content": _json(_ref("Deployed"))},
                **_errors("403", "415"),
                "422": _error("流程定义有误，problems 列出每个问题", "DeployError"),
            },
        },
    },
    "/instances": {
        "get": {
            "operationId": "listInstances",
            "summary": "调用者可见的流程实例，最新发起的在前",
            "parameters": [
                *PAGE_PARAMETERS,
                _query("process", {"type": "string"}, "流程标识"),
                _query(
                    "status", {"type": "string", "enum": ["", *STATUSES]}, "实例状态（空 = 不筛选）"
                ),
                _query("org", {"type": "string"}, "发起或参与单位代码"),
                _query("township", {"type": "string"}, "乡镇代码"),
                _query(
                    "light",
                    {"type": "string", "enum": ["", *LIGHTS]},
                    "待办中最差的提醒灯（空 = 不筛选）",
                ),
            ],
            "responses": {
                "200": _page_of("InstanceSummary", "流程实例"),
                **_errors("400"),
            },
        },
        "post": {
            "operationId": "startInstance",
            "summary": "发起流程",
            "requestBody": {"required": True, "content": _json(_ref("StartInstance"))},
            "responses": {
                "201": {"description": "已发起", "content": _json(_ref("Instance"))},
                **_errors("403", *JSON_BODY_ERRORS),
            },
        },
    },
    "/instances/{instance_id}": {
        "get": {
            "operationId": "getInstance",
            "summary": "流程实例（仅限调用者可见的）",
            "parameters": [{"name": "instance_id", "in": "path", "required": True, "schema": ID}],
            "responses": {
                "200": {"description": "流程实例", "content": _json(_ref("Instance"))},
                **_errors("404"),
            },
        }
    },
    "/tasks": {
        "get": {
            "operationId": "listOpenTasks",
            "summary": "调用者的待办，期限最近的在前",
            "parameters": [
                *PAGE_PARAMETERS,
                _query("process", {"type": "string"}, "流程标识"),
                _query("light", {"type": "string", "enum": ["", *LIGHTS]}, "提醒灯（空 = 不筛选）"),
                _query(
                    "due",
                    {"type": "string", "enum": ["", "overdue", "today", "week"]},
                    "期限（空 = 不筛选）",
                ),
            ],
            "responses": {
                "200": _page_of("Task", "待办任务"),
                **_errors("400"),
            },
        }
    },
    "/tasks/{task_id}": {
        "get": {
            "operationId": "getTask",
            "summary": "任务及其表单、办理说明、法律依据和期限（仅限调用者可见的）",
            "parameters": [{"name": "task_id", "in": "path", "required": True, "schema": ID}],
            "responses": {
                "200": {"description": "任务", "content": _json(_ref("TaskDetail"))},
                **_errors("404"),
            },
        }
    },
    "/tasks/{task_id}/complete": {
        "post": {
            "operationId": "completeTask",
            "summary": "办理任务",
            "parameters": [{"name": "task_id", "in": "path", "required": True, "schema": ID}],
            "requestBody": {"required": True, "content": _json(_ref("CompleteTask"))},
            "responses": {
                "200": {"description": "办理后的流程实例", "content": _json(_ref("Instance"))},
                **_errors("403", "409", *JSON_BODY_ERRORS),
            },
        }
    },
    "/messages": {
        "post": {
            "operationId": "deliverMessage",
            "summary": "按关联属性向等待该消息的流程实例投递消息",
            "requestBody": {"required": True, "content": _json(_ref("Message"))},
            "responses": {
                "202": {"description": "已投递", "content": _json(_ref("Delivered"))},
                **_errors("403", *JSON_BODY_ERRORS),
                "404": _error("没有（可见的）流程实例以这些关联值等待该消息"),
                "409": {
                    "description": "匹配多个流程实例，未投递（可加 all: true）",
                    "content": _json(_ref("Ambiguous")),
                },
                "422": _error(
                    "缺少关联属性（fields 为 correlation.<属性>）、与消息内容不一致，"
                    "或 code 为 step_failed：消息已投递但使流程运行出错（failed_instances）"
                ),
            },
        }
    },
    "/signals": {
        "post": {
            "operationId": "deliverSignal",
            "summary": "向所有等待该信号的流程实例广播信号",
            "requestBody": {"required": True, "content": _json(_ref("Signal"))},
            "responses": {
                "202": {"description": "已广播", "content": _json(_ref("SignalDelivered"))},
                **_errors("403", *JSON_BODY_ERRORS),
                "422": _error(
                    "code 为 step_failed：信号已送达但使流程运行出错（failed_instances）"
                ),
                "404": _error("没有（可见的）流程实例等待该信号"),
            },
        }
    },
}

STATISTICS_PATHS = openapi_statistics.paths(
    {**_errors(), "404": _error("调用者的角色没有统计分析")},
    _error("查询参数无效（fields 列出 from、to、group_by、process 的错误）"),
)


def query_parameters(path: str, method: str) -> frozenset[str] | None:
    """The query parameters the document declares for an operation; None if it has none."""
    operation = PATHS.get(path, {}).get(method.lower())
    if not isinstance(operation, dict):
        return None
    params = operation.get("parameters", [])
    return frozenset(p["name"] for p in params if p.get("in") == "query")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of /api/v1 (a fresh copy each call)."""
    # Imported here: web.openapi_case_ops builds its part with this module's helpers.
    from web.openapi_case_ops import CASE_OPS_PATHS
    from web.openapi_case_ops import CASE_OPS_SCHEMAS

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "英吉沙县行政执法协同平台 API",
            "version": "1.0.0",
            "description": "以 Bearer 令牌调用；错误统一为 {code, message, fields}。",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": copy.deepcopy(SCHEMAS | CASE_OPS_SCHEMAS | openapi_statistics.SCHEMAS),
        },
        "paths": copy.deepcopy(PATHS | CASE_OPS_PATHS | STATISTICS_PATHS),
    }
