"""The OpenAPI document's building blocks: error responses, shared types and component schemas.

web.openapi assembles the paths from them; web.openapi_case_ops and web.openapi_statistics
add theirs.
"""

from __future__ import annotations

from typing import Any


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
