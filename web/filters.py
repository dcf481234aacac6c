"""Jinja filters: local time (Asia/Shanghai) and Chinese labels for enum values."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from web import labels

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware datetime shown in Asia/Shanghai; naive values are taken as UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(LOCAL_TZ).strftime(fmt)


def localdate(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return localtime(value, "%Y-%m-%d")
    return value.isoformat()


def _label_filter(mapping: Mapping[str, str]) -> Callable[[object], str]:
    def apply(value: object) -> str:
        return labels.label(mapping, value)

    return apply


FILTERS: dict[str, Callable[..., str]] = {
    "localtime": localtime,
    "localdate": localdate,
    "status_label": _label_filter(labels.STATUS_LABELS),
    "role_label": _label_filter(labels.ROLE_LABELS),
    "org_type_label": _label_filter(labels.ORG_TYPE_LABELS),
    "field_label": _label_filter(labels.ENFORCEMENT_FIELD_LABELS),
    "light_label": _label_filter(labels.LIGHT_LABELS),
    "audit_kind_label": _label_filter(labels.AUDIT_KIND_LABELS),
    "error_label": labels.error_label,
}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
