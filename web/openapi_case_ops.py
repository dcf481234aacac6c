"""OpenAPI paths and bodies of the case operations (web/api_case_ops.py).

web.openapi merges them into its document; they are built with its helpers.
"""

from __future__ import annotations

from typing import Any

from web.openapi_schemas import ANY_OTHER_MEMBERS
from web.openapi_schemas import ID
from web.openapi_schemas import SAFE_TEXT
from web.openapi_schemas import _error
from web.openapi_schemas import _errors
from web.openapi_schemas import _json
from web.openapi_schemas import _ref

REASON = {**SAFE_TEXT, "description": "理由（必填；缺少或为空时回答 422，fields.reason）"}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {**ANY_OTHER_MEMBERS, "type": "object", "required": required, "properties": properties}


CASE_OPS_SCHEMAS: dict[str, Any] = {
    "ReturnTask": _body(
        {
            "to": {**SAFE_TEXT, "description": "退回到的环节（process.json return_to 所列）"},
            "reason": REASON,
        },
        ["to"],
    ),
    "WithdrawTask": _body({"reason": {**SAFE_TEXT, "description": "撤回说明（可选）"}}, []),
    "Reason": _body({"reason": REASON}, []),
}


def _operation(op_id: str, summary: str, body: str, param: str) -> dict[str, Any]:
    conflict = _error("当前状态不允许此操作（任务已不在待办、后续环节已被认领、流程已挂起或终止）")
    return {
        "post": {
            "operationId": op_id,
            "summary": summary,
            "parameters": [{"name": param, "in": "path", "required": True, "schema": ID}],
            "requestBody": {"required": body != "WithdrawTask", "content": _json(_ref(body))},
            "responses": {
                "200": {"description": "操作后的流程实例", "content": _json(_ref("Instance"))},
                **_errors("400", "403", "404", "422"),
                "409": conflict,
            },
        }
    }


CASE_OPS_PATHS: dict[str, Any] = {
    "/tasks/{task_id}/return": _operation(
        "returnTask", "退回：把流程退回到此前的环节", "ReturnTask", "task_id"
    ),
    "/tasks/{task_id}/withdraw": _operation(
        "withdrawTask", "撤回：收回本人已办理、后续环节尚未处理的任务", "WithdrawTask", "task_id"
    ),
    "/instances/{instance_id}/suspend": _operation(
        "suspendInstance", "挂起流程实例（期限暂停计算）", "Reason", "instance_id"
    ),
    "/instances/{instance_id}/resume": _operation(
        "resumeInstance", "恢复已挂起的流程实例", "Reason", "instance_id"
    ),
    "/instances/{instance_id}/terminate": _operation(
        "terminateInstance", "终止流程实例（并案、依法撤回等）", "Reason", "instance_id"
    ),
}
