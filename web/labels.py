"""Every Chinese string the Python side of the web layer emits: enum labels, error messages."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Mapping

from engine.cases.referrals import ReferralStage
from engine.models import InstanceStatus
from engine.models import OrgType
from engine.models import Role
from engine.models import TaskStatus

logger = logging.getLogger(__name__)

ROLE_LABELS: Mapping[str, str] = {
    Role.OFFICER: "执法人员",
    Role.HEAD: "负责人",
    Role.LEGAL_REVIEWER: "法制审核人员",
    Role.COORDINATOR: "协调监督人员",
    Role.DISCIPLINE_LIAISON: "纪检联络员",
    Role.ADMIN: "系统管理员",
}

ORG_TYPE_LABELS: Mapping[str, str] = {
    OrgType.AGENCY: "行政执法机关",
    OrgType.TOWNSHIP: "乡镇人民政府",
    OrgType.JUSTICE_BUREAU: "司法局",
    OrgType.COUNTY_GOVERNMENT: "县人民政府",
    OrgType.ESTABLISHMENT_OFFICE: "机构编制部门",
    OrgType.POLICE: "公安机关",
    OrgType.PROCURATORATE: "检察机关",
    OrgType.DISCIPLINE_COMMISSION: "纪检监察机关",
}

INSTANCE_STATUS_LABELS: Mapping[str, str] = {
    InstanceStatus.RUNNING: "办理中",
    InstanceStatus.WAITING: "等待中",
    InstanceStatus.COMPLETED: "已办结",
    InstanceStatus.ERROR: "异常",
    InstanceStatus.CANCELLED: "已撤销",
    InstanceStatus.SUSPENDED: "已挂起",
    InstanceStatus.TERMINATED: "已终止",
}

TASK_STATUS_LABELS: Mapping[str, str] = {
    TaskStatus.OPEN: "待办",
    TaskStatus.COMPLETED: "已办结",
    TaskStatus.CANCELLED: "已撤销",
}

# Instance and task statuses share their common values, so one filter serves both.
STATUS_LABELS: Mapping[str, str] = {**TASK_STATUS_LABELS, **INSTANCE_STATUS_LABELS}

REFERRAL_STAGE_LABELS: Mapping[str, str] = {
    ReferralStage.REGISTERED: "已登记，待移送",
    ReferralStage.TRANSFERRED: "已移送，待纪委监委签收",
    ReferralStage.UNDER_REVIEW: "纪委监委已签收，审查处置中",
    ReferralStage.CLOSED: "已办结",
}

LIGHT_LABELS: Mapping[str, str] = {
    "green": "正常",
    "yellow": "临近期限",
    "red": "已超期",
}

# Enforcement fields of certificates (engine.demo.planning.FIELD_BY_AGENCY uses the same codes).
ENFORCEMENT_FIELD_LABELS: Mapping[str, str] = {
    "market_regulation": "市场监管",
    "food_safety": "食品安全",
    "work_safety": "安全生产",
    "health": "卫生健康",
    "ecology_environment": "生态环境",
    "transport": "交通运输",
    "construction": "住房城乡建设",
    "agriculture": "农业农村",
    "culture_tourism": "文化旅游",
    "natural_resources": "自然资源",
    "water": "水利",
    "forestry": "林业草原",
    "labor": "劳动保障",
    "education": "教育",
    "medical_insurance": "医疗保障",
}

ERROR_LABELS: Mapping[str, str] = {
    "import_rejected": "导入文件有误，未导入任何数据。",
    "engine_error": "操作未能完成。",
    "not_found": "未找到该记录。",
    "not_allowed": "您无权进行此操作。",
    "conflict": "该事项已被他人处理或已发生变化，请刷新后重试。",
    "ambiguous": "该消息匹配多个流程实例，未投递；请补充关联属性，或确认全部投递。",
    "instance_locked": "该流程正在被处理，请稍后重试。",
    "invalid_data": "填写的内容有误，请检查标出的字段。",
    "invalid_definition": "流程定义有误，未能部署。",
    "script_failed": "流程脚本运行失败，已通知管理员。",
    "step_failed": "提交的数据使流程运行出错，流程已暂停并记录异常，请管理员修正数据后重试。",
    "unsafe_script": "流程脚本包含不允许的内容。",
    "unstorable_data": "流程脚本产生了无法保存的数据（无效的 Unicode 字符），已通知管理员。",
    "step_budget_exceeded": "流程自动步骤运行过久，已中止并记录为运行异常。",
    "domain_rule": "不符合法定要求，请检查标出的字段。",
    "invalid_notice": "放假通知内容有误，未录入任何日期，请检查标出的字段。",
    "invalid_credentials": "用户名或密码错误。",
    "account_locked": "登录失败次数过多，账号已暂时锁定，请15分钟后再试。",
    "csrf_failed": "页面已过期，请刷新后重新提交。",
    "invalid_cursor": "分页参数无效，请从第一页重新浏览。",
}

GENERIC_ERROR = "操作未能完成，请联系系统管理员。"

HTTP_ERROR_LABELS: Mapping[int, str] = {
    400: "请求无效。",
    401: "请先登录。",
    403: "您无权访问此页面。",
    404: "未找到该页面或记录。",
    405: "不支持此操作方式。",
    500: "系统内部错误，已记录，请稍后重试或联系系统管理员。",
}

NAV_LABELS: Mapping[str, str] = {
    "planning.plans": "双随机抽查",
    "tasks.inbox": "待办",
    "instances.start_list": "发起",
    "tasks.done": "已办",
    "supervision.index": "监督",
    "statistics.index": "统计分析",
    "admin.index": "管理",
}

# Flash messages and form errors of the account and admin pages; `{name}` is filled in.
MESSAGES: Mapping[str, str] = {
    "logged_out": "您已退出登录。",
    "password_changed": "密码已修改。",
    "old_password_wrong": "原密码不正确。",
    "passwords_differ": "两次输入的新密码不一致。",
    "org_created": "已添加机构 {name}。",
    "org_enabled": "机构 {name} 已启用。",
    "org_disabled": "机构 {name} 已停用。",
    "org_code_taken": "该机构代码已存在。",
    "username_taken": "该用户名已存在。",
    "user_enabled": "用户 {username} 已启用。",
    "user_disabled": "用户 {username} 已停用。",
    "user_unlocked": "用户 {username} 已解除锁定。",
    "no_such_user": "没有该用户。",
    "token_label_missing": "请填写用途说明。",
    "token_revoked": "令牌已吊销。",
    "certificate_added": "已添加执法证。",
    "certificate_removed": "已删除执法证。",
    "certificate_taken": "该执法证号已登记。",
}

# Form field key -> what to fix when the engine rejects it.
FIELD_ERROR_LABELS: Mapping[str, str] = {
    "code": "机构代码只能包含大写字母、数字、- 和 _。",
    "name": "请填写机构名称。",
    "type": "请选择机构类型。",
    "username": "用户名为3至80位小写字母、数字或 _ . -。",
    "password": "密码至少需要8个字符。",
    "new_password": "密码至少需要8个字符。",
    "org_code": "请选择所属机构。",
    "role": "请选择角色。",
    "number": "请填写执法证号。",
    "fields": "请填写执法领域。",
    "valid_until": "请填写正确的有效期。",
}
FIELD_ERROR_FALLBACK = "填写有误。"

AUDIT_KIND_LABELS: Mapping[str, str] = {
    "instance_started": "发起",
    "task_completed": "办理",
    "acted_on_behalf": "代为办理",
    "message_received": "收到外部消息",
    "signal_received": "收到信号",
    "uncaught_escalation": "未处理的升级事件",
    "linked_instance_started": "启动关联流程",
    "incident": "运行异常",
    "retried": "重试",
    "confidential_read": "查阅保密案件",
    "reporter_status_read": "发现人查看线索状态",
    "task_claimed": "认领",
    "task_released": "退回本单位待办",
    "task_reassigned": "转办",
    "engine_step": "系统步骤",
    "task_returned": "退回",
    "task_withdrawn": "撤回",
    "instance_suspended": "挂起",
    "instance_resumed": "恢复",
    "instance_terminated": "终止",
}


def label(mapping: Mapping[str, str], value: object) -> str:
    """The Chinese label of an enum value; the raw value when there is none."""
    if value is None:
        return ""
    key = str(value)
    found = mapping.get(key)
    if found is None:
        logger.warning("no label for %r", key)
        return key
    return found


def message(key: str, **values: object) -> str:
    """A flash or form message by its English key, with `values` filled in."""
    return MESSAGES[key].format(**values)


def field_errors(keys: Iterable[str]) -> dict[str, str]:
    """Chinese messages for the form fields the engine rejected."""
    return {key: FIELD_ERROR_LABELS.get(key, FIELD_ERROR_FALLBACK) for key in keys}


def error_label(code: str) -> str:
    """The Chinese message for an engine error code; a generic one (logged) if unknown."""
    message = ERROR_LABELS.get(code)
    if message is None:
        logger.warning("no label for error code %r", code)
        return GENERIC_ERROR
    return message
