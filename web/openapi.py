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
    "400": _error("请求体不是 JSON 对象，或缺少必填项、类型不正确"),
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
    return {status: ERRORS[status] for status in ("401", *statuses)}


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
                "enum": ["running", "waiting", "completed", "error", "cancelled"],
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
        "post": {
            "operationId": "startInstance",
            "summary": "发起流程",
            "requestBody": {"required": True, "content": _json(_ref("StartInstance"))},
            "responses": {
                "201": {"description": "已发起", "content": _json(_ref("Instance"))},
                **_errors("403", *JSON_BODY_ERRORS),
            },
        }
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
            "summary": "调用者的待办",
            "responses": {
                "200": {
                    "description": "待办任务",
                    "content": _json({"type": "array", "items": _ref("Task")}),
                },
                **_errors(),
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


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of /api/v1 (a fresh copy each call)."""
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
            "schemas": copy.deepcopy({**SCHEMAS, **openapi_statistics.SCHEMAS}),
        },
        "paths": copy.deepcopy({**PATHS, **STATISTICS_PATHS}),
    }
