"""Task data to what a form shows: initial values, carried choices, readable read-only rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.cases.form_offers import offered
from web.form_schema import CHOICES
from web.form_schema import CHOICES_SUFFIX
from web.form_schema import DEFAULT
from web.form_schema import LOCAL_TZ
from web.form_schema import ROW_EXTRA
from web.form_schema import ROW_WIDGETS
from web.form_schema import ROWS_SUFFIX
from web.form_schema import DisplayValue
from web.form_schema import FormContext
from web.form_schema import Schema
from web.form_schema import enum_options
from web.form_schema import form_context
from web.form_schema import is_org
from web.form_schema import properties_of
from web.form_schema import row_schema
from web.form_schema import widget_for


def _local_datetime_text(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%dT%H:%M")
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _display(prop: Schema, value: Any) -> DisplayValue:
    widget = widget_for(prop)
    if widget == "checkbox":
        return bool(value)
    if widget == "checkboxes":
        return [scalar_text(v) for v in value or []]
    if widget == "lines":
        return "\n".join(scalar_text(v) for v in value or [])
    if widget == "json":
        return "" if value is None else json.dumps(value, ensure_ascii=False, indent=2)
    if widget == "datetime" and isinstance(value, str):
        return _local_datetime_text(value)
    return scalar_text(value)


def _rows_of(value: Any) -> list[Mapping[str, Any]]:
    """The rows of a list of objects, or of an object keyed by a row's column."""
    rows = list(value.values()) if isinstance(value, Mapping) else value
    return [row for row in rows if isinstance(row, Mapping)] if isinstance(rows, list) else []


def _table_values_from_data(
    name: str, prop: Schema, value: Any, context: FormContext
) -> dict[str, DisplayValue]:
    rows = _rows_of(value)
    values: dict[str, DisplayValue] = {name + ROWS_SUFFIX: str(len(rows) + ROW_EXTRA)}
    for index, row in enumerate(rows):
        prefix = f"{name}.{index}."
        values.update(_values_from_data(row_schema(prop), row, prefix, context, defaults=False))
    return values


def _initial(prop: Schema, data: Mapping[str, Any], key: str, context: FormContext) -> Any:
    if key in data:
        return data[key]
    if prop.get(DEFAULT) == "user_org":
        return context.default_org(prop)
    return prop.get("default")


def _values_from_data(
    schema: Schema,
    data: Mapping[str, Any],
    prefix: str,
    context: FormContext,
    *,
    defaults: bool = True,
) -> dict[str, DisplayValue]:
    values: dict[str, DisplayValue] = {}
    for key, prop, _required in properties_of(schema):
        name = prefix + key
        value = _initial(prop, data, key, context) if defaults else data.get(key)
        widget = widget_for(prop)
        if widget == "fieldset":
            nested = value if isinstance(value, Mapping) else {}
            values.update(_values_from_data(prop, nested, f"{name}.", context, defaults=defaults))
        elif widget in ROW_WIDGETS:
            values.update(_table_values_from_data(name, prop, value, context))
        elif value is not None:
            values[name] = _display(prop, value)
    return values


def values_from_data(
    schema: Schema,
    data: Mapping[str, Any],
    prefix: str = "",
    context: FormContext | None = None,
) -> dict[str, DisplayValue]:
    """Display values keyed by input name, from JSON data (schema defaults fill the gaps).

    `"x-xietong-default": "user_org"` fills an empty field with the user's organization.
    """
    values = _values_from_data(schema, data, prefix, form_context(schema, context))
    values.update(_choices_from_data(schema, data, prefix))
    return values


def _choices_from_data(
    schema: Schema, data: Mapping[str, Any], prefix: str
) -> dict[str, DisplayValue]:
    """`"x-xietong-choices": "a.b"`: the field offers the values of the list at data path a.b.

    The same function reads the offer here and in the engine's check at submit.
    """
    values: dict[str, DisplayValue] = {}
    for key, prop, _required in properties_of(schema):
        if widget_for(prop) in ROW_WIDGETS:
            # A table's column offers the same choices on every row: `name.*.column`.
            values.update(_choices_from_data(row_schema(prop), data, f"{prefix}{key}.*."))
        found = offered(prop[CHOICES], data) if CHOICES in prop else None
        if found:
            values[prefix + key + CHOICES_SUFFIX] = list(found)
    return values


def offered_choices(schema: Schema, data: Mapping[str, Any]) -> dict[str, DisplayValue]:
    """The choices the server offers now, keyed for the form, from the task's own data.

    A form shown again after an error takes its choices from here, never from the post.
    """
    return _choices_from_data(schema, data, "")


# Past this a number is shown in scientific notation rather than as a wall of digits.
PLAIN_NUMBER_LIMIT = 1e15


def number_text(value: float) -> str:
    """A number as people read amounts: thousands separated, at most two decimals."""
    if abs(value) >= PLAIN_NUMBER_LIMIT:
        return f"{value:.3e}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _readable(prop: Schema, value: Any, context: FormContext) -> str:
    options = dict((scalar_text(v), label) for v, label in enum_options(prop) or [])
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float) and not options:
        return number_text(value)
    if isinstance(value, list):
        return "、".join(_readable(row_schema(prop), v, context) for v in value)
    if isinstance(value, Mapping) and widget_for(prop) == "keyed":
        return "、".join(_readable(row_schema(prop), v, context) for v in value.values())
    if isinstance(value, Mapping):
        return "；".join(f"{title}：{text}" for title, text in _display_rows(prop, value, context))
    if prop.get("format") == "date-time" and isinstance(value, str):
        return _local_datetime_text(value).replace("T", " ")
    if is_org(prop) and isinstance(value, str):
        return context.org_name(value) or value
    return options.get(scalar_text(value), scalar_text(value))


def _display_rows(
    schema: Schema, data: Mapping[str, Any], context: FormContext
) -> list[tuple[str, str]]:
    return [
        (str(prop.get("title", key)), _readable(prop, data[key], context))
        for key, prop, _required in properties_of(schema)
        if key in data and data[key] is not None
    ]


def display_rows(
    schema: Schema, data: Mapping[str, Any], context: FormContext | None = None
) -> list[tuple[str, str]]:
    """(title, readable value) of each form field present in data, in form order.

    Organization codes read as the organization's name.
    """
    return _display_rows(schema, data, form_context(schema, context))
