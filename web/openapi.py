"""The hand-written OpenAPI 3.1 document of the /api/v1 JSON API (served by web.api).

Keep it in step with web/api.py: tests/integration/web/test_schemathesis.py checks every
response against it.
"""

from __future__ import annotations

import copy
from typing import Any

from web import openapi_statistics


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str, schema: str = "Error") -> dict[str, Any]:
    return {"description": description, "content": _json(_ref(schema))}


ERRORS: dict[str, dict[str, Any]] = {
    "400": _error("请求体不是 JSON 对象，或缺少必填项、类型不正确；或含有未声明的查询参数"),
    "401": _error("缺少或无效的访问令牌"),
    "403": _error("无权进行此操作"),
    "404": _error("记录不存在或无权查看"),
    "409": _error("任务已不在待办状态"),
    "415": _error("请求体类型不受支持"),
    "422": _error(
        "数据未通过表单校验（fields 列出各字段的错误）；或 code 为 step_failed："
        "数据使流程运行出错，流程已记录异常（incident：element、line、message）"
    ),
}


def _errors(*statuses: str) -> dict[str, dict[str, Any]]:
    # Every operation refuses query parameters it does not declare with 400 (web.api).
    return {status: ERRORS[status] for status in ("400", "401", *statuses)}


ID = {"type": "integer", "format": "int32", "minimum": 1, "maximum": 2**31 - 1}
TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
DATA = {"type": "object", "additionalProperties": True, "description": "流程数据（各字段见表单）"}
# What the API refuses with 400 (engine.untrusted): NUL, lone surrogates, non-characters.
SAFE_TEXT_PATTERN = "^[^\\u0000\\ud800-\\udfff\\ufdd0-\\ufdef\\ufffe\\uffff]*$"
SAFE_TEXT = {"type": "string", "pattern": SAFE_TEXT_PATTERN}
INPUT_RULES = (
    "请求体最大 1 MiB、嵌套最多 32 层；文本（含字段名）不得含 NUL、单独的代理项或 Unicode 非字符，"
    "数字不得为 NaN 或 Infinity，否则回答 400。"
)


# Request bodies may carry other members: they are ignored, but checked like the rest.
ANY_OTHER_MEMBERS = {"propertyNames": SAFE_TEXT, "additionalProperties": _ref("JsonValue")}


def _input_object(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "propertyNames": SAFE_TEXT,
        "additionalProperties": _ref("JsonValue"),
        "description": f"{description}。{INPUT_RULES}",
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["code", "message", "fields"],
        "properties": {
            "code": {"type": "string", "description": "稳定的英文错误代码"},
            "message": {"type": "string", "description": "中文说明"},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "字段路径到错误说明",
            },
        },
    },
    "Problem": {
        "type": "object",
        "required": ["file", "line", "element", "message"],
        "properties": {
            "file": {"type": "string"},
            "line": {"type": ["integer", "null"]},
            "element": {"type": ["string", "null"]},
            "message": {"type": "string"},
        },
    },
    "DeployError": {
        "allOf": [
            _ref("Error"),
            {
                "type": "object",
                "properties": {"problems": {"type": "array", "items": _ref("Problem")}},
            },
        ]
    },
    "Deployed": {
        "type": "object",
        "required": ["process_id", "version", "deployed", "warnings"],
        "properties": {
            "process_id": {"type": "string", "description": "第一个部署的流程"},
            "version": {"type": "integer"},
            "deployed": {
                "type": "array",
                "description": "本次部署的每个可执行流程（未改动的为原版本，created 为 false）",
                "items": {
                    "type": "object",
                    "required": ["process_id", "version", "created"],
                    "properties": {
                        "process_id": {"type": "string"},
                        "version": {"type": "integer"},
                        "created": {"type": "boolean"},
                    },
                },
            },
            "warnings": {
                "type": "array",
                "description": "检查发现、但不妨碍部署的问题（文件、行、元素、说明）",
                "items": {"type": "object"},
            },
        },
    },
    "Process": {
        "type": "object",
        "required": ["process_id", "version", "title", "confidential", "startable", "start_form"],
        "properties": {
            "process_id": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string"},
            "confidential": {"type": "boolean"},
            "startable": {"type": "boolean", "description": "调用者能否发起"},
            "start_form": {
                "type": ["object", "null"],
                "additionalProperties": True,
                "description": "发起表单（JSON Schema）",
            },
        },
    },
    "Task": {
        "type": "object",
        "required": ["id", "instance_id", "process_id", "bpmn_id", "name", "lane", "state"],
        "properties": {
            "id": ID,
            "instance_id": ID,
            "process_id": {"type": "string"},
            "bpmn_id": {"type": "string"},
            "name": {"type": "string"},
            "lane": {"type": ["string", "null"]},
            "state": {"type": "string", "enum": ["open", "completed", "cancelled"]},
            "due_at": TIMESTAMP,
            "deadline_warnings": {
                "type": "array",
                "items": {"type": "string"},
                "description": "e.g. the deadline was estimated Monday to Friday (no holiday data)",
            },
        },
    },
    "TaskDetail": {
        "allOf": [_ref("Task")],
        "type": "object",
        "required": ["form", "instructions", "legal_basis", "deadline"],
        "properties": {
            "form": {
                "type": "object",
                "additionalProperties": True,
                "description": "办理表单（JSON Schema）",
            },
            "instructions": {"type": "string", "description": "办理说明"},
            "legal_basis": {"type": ["string", "null"], "description": "本环节的法律依据"},
            "deadline": {
                "type": ["object", "null"],
                "additionalProperties": True,
                "description": "期限及其计算说明（起算、规则、到期、预警、依据），北京时间",
            },
        },
    },
    "Instance": {
        "type": "object",
        "required": ["id", "process_id", "version", "status", "data", "tasks"],
        "properties": {
            "id": ID,
            "process_id": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string"},
            "status": {
                "type": "string",
                "enum": [
                    "running",
                    "waiting",
                    "completed",
                    "error",
                    "cancelled",
                    "suspended",
                    "terminated",
                ],
            },
            "started_at": TIMESTAMP,
            "completed_at": TIMESTAMP,
            "data": DATA,
            "tasks": {"type": "array", "items": _ref("Task")},
        },
    },
    "JsonValue": {
        "anyOf": [
            {"type": "null"},
            SAFE_TEXT,
            {"type": "number"},
            {"type": "boolean"},
            {"type": "array", "items": _ref("JsonValue")},
            {
                "type": "object",
                "propertyNames": SAFE_TEXT,
                "additionalProperties": _ref("JsonValue"),
            },
        ],
    },
    "InstanceSummary": {
        "type": "object",
        "required": ["id", "process_id", "title", "status", "started_at"],
        "properties": {
            "id": ID,
            "process_id": {"type": "string"},
            "title": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["running", "waiting", "completed", "error", "cancelled"],
            },
            "started_org": {"type": ["string", "null"]},
            "township": {"type": ["string", "null"]},
            "started_at": TIMESTAMP,
            "completed_at": TIMESTAMP,
        },
    },
    "StartInstance": {
        **ANY_OTHER_MEMBERS,
        "type": "object",
        "required": ["process_id"],
        "properties": {
            "process_id": SAFE_TEXT,
            "data": _input_object("发起表单的数据（各字段见表单）"),
        },
    },
    "CompleteTask": {
        **ANY_OTHER_MEMBERS,
        "type": "object",
        "properties": {"data": _input_object("任务表单的数据（各字段见表单）")},
    },
    "Message": {
        **ANY_OTHER_MEMBERS,
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {**SAFE_TEXT, "description": "BPMN 消息名称"},
            "correlation": _input_object(
                '关联属性的值：{"case_no": "X"}（属性 id → 值），'
                '或按关联键 {"case_key": {"case_no": "X"}}'
            ),
            "payload": _input_object("消息内容"),
            "all": {
                "type": "boolean",
                "default": False,
                "description": "匹配多个流程实例时全部投递；否则答复 409 ambiguous",
            },
        },
    },
    "Signal": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {**SAFE_TEXT, "description": "BPMN 信号名称（bpmn:signal 的 name）"},
            "payload": _input_object("信号内容"),
        },
    },
    "SignalDelivered": {
        "type": "object",
        "required": ["delivered", "delivered_to"],
        "properties": {
            "delivered": {"type": "integer", "description": "收到信号的流程实例数"},
            "delivered_to": {"type": "array", "items": ID},
        },
    },
    "Ambiguous": {
        "type": "object",
        "required": ["code", "message", "fields", "count"],
        "properties": {
            "code": {"type": "string", "enum": ["ambiguous"]},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "count": {"type": "integer", "description": "匹配的流程实例数"},
        },
    },
    "Delivered": {
        "type": "object",
        "required": ["delivered_to"],
        "properties": {"delivered_to": {"type": "array", "items": ID}},
    },
}

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
