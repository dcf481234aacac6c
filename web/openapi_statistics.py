"""The OpenAPI paths and schemas of the statistics API (merged into web.openapi's document)."""

from __future__ import annotations

from typing import Any

RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "无发起件时为 null"}
COUNT = {"type": "integer", "minimum": 0}
HOURS = {"type": ["number", "null"], "description": "小时（最近秩法）；无已办结任务时为 null"}

GROUP_PROPERTIES: dict[str, Any] = {
    "key": {"type": "string", "description": "机构代码、乡镇代码、流程 id 或 YYYY-MM；空串为未填"},
    "label": {"type": "string"},
    "started": COUNT,
    "closed": COUNT,
    "open": COUNT,
    "cancelled": COUNT,
    **{kind: COUNT for kind in ("yellow", "red", "stalled")},
    **{f"{kind}_rate": RATE for kind in ("yellow", "red", "stalled")},
}

SCHEMAS: dict[str, Any] = {
    "StatisticsGroup": {
        "type": "object",
        "required": list(GROUP_PROPERTIES),
        "properties": GROUP_PROPERTIES,
    },
    "StatisticsStep": {
        "type": "object",
        "required": ["process_id", "bpmn_id", "name", "completed", "on_time", "late"],
        "properties": {
            "process_id": {"type": "string"},
            "bpmn_id": {"type": "string"},
            "name": {"type": "string"},
            "completed": COUNT,
            "on_time": COUNT,
            "late": COUNT,
            "on_time_rate": RATE,
            "open_overdue": COUNT,
            "median_hours": HOURS,
            "p90_hours": HOURS,
            "limit": {"type": ["string", "null"], "description": "法定期限，如 3个工作日"},
            "limit_basis": {"type": ["string", "null"]},
        },
    },
    "Statistics": {
        "type": "object",
        "required": ["from", "to", "group_by", "groups", "total", "steps", "generated_at"],
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "group_by": {"type": "string", "enum": ["org", "township", "process", "month"]},
            "process": {"type": ["string", "null"]},
            "generated_at": {"type": "string", "format": "date-time"},
            "groups": {"type": "array", "items": {"$ref": "#/components/schemas/StatisticsGroup"}},
            "total": {"$ref": "#/components/schemas/StatisticsGroup"},
            "steps": {"type": "array", "items": {"$ref": "#/components/schemas/StatisticsStep"}},
        },
    },
}

PARAMETERS = [
    {
        "name": "from",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "minLength": 1},
        "description": "发起日期自（北京时间，YYYY-MM-DD；缺省为截止日前 364 天）",
    },
    {
        "name": "to",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "minLength": 1},
        "description": "发起日期至（含当日；缺省为今天）",
    },
    {
        "name": "group_by",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["org", "township", "process", "month"]},
        "description": "分组：org（发起单位，缺省）、township、process、month",
    },
    {
        "name": "process",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "minLength": 1},
        "description": "只统计该流程",
    },
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def paths(errors: dict[str, Any], invalid: dict[str, Any]) -> dict[str, Any]:
    """The two statistics paths, with the document's shared error responses."""
    responses = {**errors, "422": invalid}
    return {
        "/statistics": {
            "get": {
                "operationId": "getStatistics",
                "summary": "统计分析（司法局协调员、管理员：全县；单位负责人：本单位）",
                "parameters": PARAMETERS,
                "responses": {
                    "200": {
                        "description": "统计数据",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Statistics"}
                            }
                        },
                    },
                    **responses,
                },
            }
        },
        "/exports/statistics.xlsx": {
            "get": {
                "operationId": "exportStatistics",
                "summary": "统计分析导出为 Excel",
                "parameters": PARAMETERS,
                "responses": {
                    "200": {
                        "description": "Excel 工作簿（说明、分组统计、环节用时）",
                        "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **responses,
                },
            }
        },
    }
