"""The Chinese tables of the exports: statistics (groups, steps) and the 监督 list."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime

from engine.models import ProcessInstance
from engine.monitoring.models import FlagKind
from engine.statistics.export import Table
from engine.statistics.export import Value
from engine.statistics.query import GroupBy
from engine.statistics.service import GroupRow
from engine.statistics.service import Statistics
from engine.statistics.service import StepRow
from web.labels import STATUS_LABELS

GROUP_TITLES = {
    GroupBy.ORG: "发起单位",
    GroupBy.TOWNSHIP: "乡镇",
    GroupBy.PROCESS: "流程",
    GroupBy.MONTH: "月份",
}
NO_GROUP = "（未填）"
FLAG_TITLES = {FlagKind.YELLOW: "临期", FlagKind.RED: "超期", FlagKind.STALLED: "停滞"}


def percent(rate: float | None) -> str:
    """A rate as a percentage with one decimal, or a dash when there is nothing to rate."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def days(hours: float | None) -> str:
    return "—" if hours is None else f"{hours / 24:.1f}"


def group_label(row: GroupRow) -> str:
    return row.label or NO_GROUP


def _group_values(row: GroupRow, label: str) -> list[Value]:
    values: list[Value] = [label, row.started, row.closed, row.open, row.cancelled]
    for kind in FlagKind:
        values += [row.count(kind), percent(row.rate(kind))]
    return values


def groups_table(stats: Statistics) -> Table:
    headers = [GROUP_TITLES[stats.query.group_by], "发起", "办结", "在办", "撤销"]
    for kind in FlagKind:
        headers += [f"{FLAG_TITLES[kind]}件数", f"{FLAG_TITLES[kind]}比例"]
    rows = [_group_values(row, group_label(row)) for row in stats.groups]
    rows.append(_group_values(stats.total, "合计"))
    return Table("分组统计", headers, [24] + [10] * (len(headers) - 1), rows)


def step_values(step: StepRow) -> list[Value]:
    return [
        step.process_label,
        step.name,
        step.completed,
        step.on_time,
        step.late,
        percent(step.on_time_rate),
        step.open_overdue,
        days(step.median_hours),
        days(step.p90_hours),
        step.limit_text or "—",
        step.limit_basis or "",
    ]


STEP_HEADERS = (
    "流程",
    "环节",
    "已办结",
    "按期",
    "逾期办结",
    "按期率",
    "在办超期",
    "用时中位数（天）",
    "用时P90（天）",
    "法定期限",
    "期限依据",
)
STEP_WIDTHS = (28, 22, 9, 9, 10, 9, 10, 16, 14, 14, 36)


def steps_table(stats: Statistics) -> Table:
    return Table("环节用时", STEP_HEADERS, STEP_WIDTHS, [step_values(s) for s in stats.steps])


def cover(title: str, filters: Sequence[tuple[str, str]], generated_at: datetime) -> Table:
    """The cover sheet: what was exported, with which filters, and when."""
    rows: list[Sequence[Value]] = [("导出内容", title), *filters, ("生成时间", generated_at)]
    return Table("说明", ("项目", "内容"), (16, 48), rows)


def statistics_filters(stats: Statistics, process_title: str | None) -> list[tuple[str, str]]:
    query = stats.query
    return [
        ("发起日期自", query.date_from.isoformat()),
        ("发起日期至", query.date_to.isoformat()),
        ("分组", GROUP_TITLES[query.group_by]),
        ("流程", process_title or "全部流程"),
    ]


SUPERVISION_HEADERS = ("编号", "案件", "流程", "发起单位", "乡镇", "状态", "发起时间", "最近进展")
SUPERVISION_WIDTHS = (8, 30, 28, 22, 18, 10, 18, 18)


def supervision_table(
    instances: Iterable[ProcessInstance], org_names: dict[str, str], titles: dict[str, str]
) -> Table:
    """The 监督 list, one row per instance (a generator: rows are read as they are written)."""
    rows = (_instance_values(i, org_names, titles) for i in instances)
    return Table("流程实例", SUPERVISION_HEADERS, SUPERVISION_WIDTHS, rows)


def _instance_values(
    i: ProcessInstance, org_names: dict[str, str], titles: dict[str, str]
) -> list[Value]:
    return [
        i.id,
        i.title,
        titles.get(i.process_id, i.process_id),
        org_names.get(i.started_org or "", i.started_org or ""),
        org_names.get(i.township_code or "", i.township_code or ""),
        STATUS_LABELS.get(i.status, str(i.status)),
        i.started_at,
        i.last_progress_at,
    ]


SUPERVISION_FILTER_TITLES = {
    "process": "流程",
    "org": "单位",
    "township": "乡镇",
    "status": "状态",
    "overdue": "仅超期",
    "stalled": "仅停滞",
    "started_org": "发起单位",
    "from": "发起日期自",
    "to": "发起日期至",
    "phase": "办理阶段",
    "flagged": "曾标记",
}


def supervision_filters(args: dict[str, str]) -> list[tuple[str, str]]:
    """The 监督 filters of an export's query string, by their Chinese names (others dropped)."""
    return [
        (title, args[key]) for key, title in SUPERVISION_FILTER_TITLES.items() if args.get(key)
    ] or [("筛选", "全部")]
