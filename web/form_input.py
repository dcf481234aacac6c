"""Read a posted task or start form: display values as typed, and JSON data typed by the schema.

Browsers post strings; `coerce_form` turns them into the JSON types the schema asks for
(integers, booleans, lists, nested objects, table rows) before the engine validates them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from engine import untrusted
from web.form_schema import CHOICES
from web.form_schema import KEY
from web.form_schema import LOCAL_TZ
from web.form_schema import ROW_EXTRA
from web.form_schema import ROW_WIDGETS
from web.form_schema import ROWS_SUFFIX
from web.form_schema import DisplayValue
from web.form_schema import Schema
from web.form_schema import enum_options
from web.form_schema import prop_type
from web.form_schema import properties_of
from web.form_schema import row_schema
from web.form_schema import widget_for
from web.form_values import scalar_text

FormData = MultiDict[str, str]
MORE_ROWS = "_more_rows"
INTEGER = re.compile(r"[+-]?\d+")


class CoercionError(Exception):
    """Some submitted values could not be read as their schema types."""

    code = "invalid_data"

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("form values do not match the schema types")
        self.field_errors = field_errors


def _row_count(keys: Iterable[str], name: str) -> int:
    """How many rows of the list `name` the keys hold (inputs are named name.N.key)."""
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.")
    indices = [int(m.group(1)) for key in keys if (m := pattern.match(key))]
    return max(indices) + 1 if indices else 0


def _is_blank(row: Mapping[str, DisplayValue]) -> bool:
    return not any(v.strip() if isinstance(v, str) else v for v in row.values())


def _table_values_from_form(name: str, prop: Schema, form: FormData) -> dict[str, DisplayValue]:
    """The posted rows with blank ones dropped and the rest renumbered, plus blank rows to fill.

    Reading and coercing share this numbering, so an engine error on `name.N.key` lands on the
    row shown as number N+1 when the form comes back.
    """
    items = row_schema(prop)
    kept: list[dict[str, DisplayValue]] = []
    for index in range(_row_count(form.keys(), name)):
        row = values_from_form(items, form, prefix=f"{name}.{index}.")
        if not _is_blank(row):
            kept.append({key.removeprefix(f"{name}.{index}."): v for key, v in row.items()})
    values: dict[str, DisplayValue] = {
        f"{name}.{index}.{key}": v for index, row in enumerate(kept) for key, v in row.items()
    }
    more = ROW_EXTRA if form.get(MORE_ROWS) == name else 0
    values[name + ROWS_SUFFIX] = str(len(kept) + ROW_EXTRA + more)
    return values


def values_from_form(schema: Schema, form: FormData, prefix: str = "") -> dict[str, DisplayValue]:
    """Display values keyed by input name, exactly as the user typed them."""
    values: dict[str, DisplayValue] = {}
    for key, prop, _required in properties_of(schema):
        name = prefix + key
        widget = widget_for(prop)
        if widget == "fieldset":
            values.update(values_from_form(prop, form, prefix=f"{name}."))
        elif widget in ROW_WIDGETS:
            values.update(_table_values_from_form(name, prop, form))
        elif widget == "checkbox":
            values[name] = name in form
        elif widget == "checkboxes":
            values[name] = form.getlist(name)
        elif widget == "lines" and CHOICES in prop:
            # Offered values are ticked as checkboxes: one posted value per line.
            values[name] = "\n".join(form.getlist(name))
        elif name in form:
            values[name] = str(form.get(name, ""))
    return values


def wants_more_rows(form: FormData) -> bool:
    """Whether the user pressed a list's "more rows" button rather than submitting."""
    return bool(form.get(MORE_ROWS))


def _parse_datetime(text: str) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.isoformat()


def _parse_scalar(prop: Schema, text: str) -> Any:
    kind = prop_type(prop)
    if kind == "integer":
        return int(text)
    if kind == "number":
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(text)
        return int(text) if INTEGER.fullmatch(text) else number
    if kind == "boolean":
        return text in {"true", "on", "1"}
    if prop.get("format") == "date-time":
        return _parse_datetime(text)
    if prop.get("format") == "date":
        return date.fromisoformat(text).isoformat()
    return text


def _parse_enum(prop: Schema, text: str) -> Any:
    for value, _label in enum_options(prop) or []:
        if scalar_text(value) == text:
            return value
    return text


COERCE_MESSAGES = {
    "integer": "请输入整数",
    "number": "请输入数字",
    "date": "请输入有效日期",
    "datetime": "请输入有效的日期时间",
    "lines": "每行须为有效值",
    "json": "请输入有效的 JSON",
}


def _coerce_value(prop: Schema, widget: str, raw: DisplayValue) -> Any:
    """JSON value for one input, or `None` when the user left it empty."""
    if widget == "checkbox":
        return bool(raw)
    if widget == "checkboxes":
        chosen = raw if isinstance(raw, list) else []
        return [_parse_enum(prop.get("items") or {}, v) for v in chosen]
    text = str(raw).strip()
    if not text:
        return None
    if widget in {"radios", "select"}:
        return _parse_enum(prop, text)
    if widget == "lines":
        items = prop.get("items") or {}
        return [_parse_scalar(items, line.strip()) for line in text.splitlines() if line.strip()]
    if widget == "json":
        if untrusted.json_too_deep(text):
            raise ValueError("JSON nested too deeply")
        return untrusted.loads_strict(text)
    return _parse_scalar(prop, text)


def _keyed_rows(
    prop: Schema, name: str, rows: list[dict[str, Any]], errors: dict[str, str]
) -> dict[str, Any]:
    """Rows keyed by their key column; a row without a key, or a repeated key, is an error."""
    key = str(prop[KEY])
    keyed: dict[str, Any] = {}
    for index, row in enumerate(rows):
        cell = f"{name}.{index}.{key}"
        row_key = row.get(key)
        if row_key is None:
            errors.setdefault(cell, "必填")
        elif str(row_key) in keyed:
            errors.setdefault(cell, "与前面的行重复")
        else:
            keyed[str(row_key)] = row
    return keyed


def _coerce_group(
    prop: Schema,
    widget: str,
    name: str,
    values: Mapping[str, DisplayValue],
    errors: dict[str, str],
) -> dict[str, Any] | list[dict[str, Any]]:
    """A nested object, or the rows of a table (blank ones were dropped when reading)."""
    if widget == "fieldset":
        return _coerce_into(prop, values, f"{name}.", errors)
    items = row_schema(prop)
    count = _row_count(values.keys(), name)
    rows = [_coerce_into(items, values, f"{name}.{index}.", errors) for index in range(count)]
    return _keyed_rows(prop, name, rows, errors) if widget == "keyed" else rows


def _coerce_into(
    schema: Schema,
    values: Mapping[str, DisplayValue],
    prefix: str,
    errors: dict[str, str],
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, prop, required in properties_of(schema):
        name = prefix + key
        widget = widget_for(prop)
        if widget == "stamp" or prop.get("readOnly"):
            continue
        if widget in {"fieldset", *ROW_WIDGETS}:
            # A required group is sent even when empty, so its own required fields get errors.
            group = _coerce_group(prop, widget, name, values, errors)
            if group or required:
                data[key] = group
            continue
        try:
            value = _coerce_value(prop, widget, values.get(name, ""))
        except ValueError:
            errors[name] = COERCE_MESSAGES.get(widget, "格式不正确")
            continue
        if value is not None:
            data[key] = value
    return data


def coerce_form(schema: Schema, form: FormData) -> dict[str, Any]:
    """JSON data from a submitted form, typed by the schema; empty inputs are left out.

    Raises:
        CoercionError: a value cannot be read as its type (letters in a number field).
    """
    errors: dict[str, str] = {}
    data = _coerce_into(schema, values_from_form(schema, form), "", errors)
    if errors:
        raise CoercionError(errors)
    return data
