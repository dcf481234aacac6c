"""Turn a task's JSON Schema into the fields the `_macros/form.html` macro draws.

`build_fields` pairs each property with its widget, display value and inline error;
`display_rows` reads submitted data back for a finished task. Reading a posted form lives in
web.form_input; validation rules live in engine.forms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TEXTAREA_MIN_LENGTH = 200
RADIO_MAX_OPTIONS = 4
# Blank rows offered under a list of objects, and added by the "more rows" button.
ROW_EXTRA = 3
ROWS_SUFFIX = ".#rows"
SCALAR_WIDGETS = frozenset(
    {"text", "textarea", "integer", "number", "checkbox", "date", "datetime", "radios", "select"}
)

Schema = Mapping[str, Any]
DisplayValue = str | list[str] | bool


@dataclass
class Field:
    """One input as the form macro draws it; `name` is the dotted input name."""

    name: str
    title: str
    widget: str
    required: bool = False
    description: str | None = None
    value: DisplayValue = ""
    error: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)


def enum_options(prop: Schema) -> list[tuple[Any, str]] | None:
    """The (value, label) pairs of an enum property, from `oneOf` const/title or `enum`."""
    one_of = prop.get("oneOf") or prop.get("anyOf")
    if one_of and all(isinstance(o, Mapping) and "const" in o for o in one_of):
        return [(o["const"], str(o.get("title", o["const"]))) for o in one_of]
    if "enum" in prop:
        return [(v, str(v)) for v in prop["enum"]]
    return None


def _is_stamp(prop: Schema) -> bool:
    return bool(prop.get("x-xietong-stamp"))


def prop_type(prop: Schema) -> str:
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return str(kind)


def _array_widget(prop: Schema) -> str:
    items = prop.get("items") or {}
    if enum_options(items) is not None:
        return "checkboxes"
    if prop_type(items) in {"string", "integer", "number"}:
        return "lines"
    columns = [widget_for(sub) for _key, sub, _required in properties_of(items)]
    if prop_type(items) == "object" and columns and set(columns) <= SCALAR_WIDGETS:
        return "table"
    return "json"


def _string_widget(prop: Schema) -> str:
    fmt = prop.get("format")
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "datetime"
    if prop.get("x-widget") == "textarea" or prop.get("maxLength", 0) > TEXTAREA_MIN_LENGTH:
        return "textarea"
    return "text"


def widget_for(prop: Schema) -> str:
    """The widget that draws a property: text, textarea, select, radios, lines, ..."""
    if _is_stamp(prop):
        return "stamp"
    options = enum_options(prop)
    if options is not None:
        wanted = prop.get("x-widget")
        if wanted in {"select", "radios"}:
            return str(wanted)
        return "radios" if len(options) <= RADIO_MAX_OPTIONS else "select"
    simple = {"integer": "integer", "number": "number", "boolean": "checkbox"}
    kind = prop_type(prop)
    if kind in simple:
        return simple[kind]
    if kind == "array":
        return _array_widget(prop)
    if kind == "object":
        return "fieldset"
    return _string_widget(prop)


def _attrs(prop: Schema) -> dict[str, str]:
    names = {"minimum": "min", "maximum": "max", "maxLength": "maxlength", "minLength": "minlength"}
    attrs = {html: str(prop[key]) for key, html in names.items() if key in prop}
    if prop_type(prop) == "number":
        attrs["step"] = "any"
    if "x-placeholder" in prop:
        attrs["placeholder"] = str(prop["x-placeholder"])
    return attrs


def properties_of(schema: Schema) -> list[tuple[str, Schema, bool]]:
    required = set(schema.get("required") or [])
    props = schema.get("properties") or {}
    return [(key, props[key], key in required) for key in props]


# ---------------------------------------------------------------- data -> display values


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


def _table_values_from_data(name: str, prop: Schema, value: Any) -> dict[str, DisplayValue]:
    items = [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []
    values: dict[str, DisplayValue] = {name + ROWS_SUFFIX: str(len(items) + ROW_EXTRA)}
    for index, item in enumerate(items):
        values.update(values_from_data(prop.get("items") or {}, item, prefix=f"{name}.{index}."))
    return values


def values_from_data(
    schema: Schema, data: Mapping[str, Any], prefix: str = ""
) -> dict[str, DisplayValue]:
    """Display values keyed by input name, from JSON data (schema defaults fill the gaps)."""
    values: dict[str, DisplayValue] = {}
    for key, prop, _required in properties_of(schema):
        name, value = prefix + key, data.get(key, prop.get("default"))
        widget = widget_for(prop)
        if widget == "fieldset":
            nested = value if isinstance(value, Mapping) else {}
            values.update(values_from_data(prop, nested, prefix=f"{name}."))
        elif widget == "table":
            values.update(_table_values_from_data(name, prop, value))
        elif value is not None:
            values[name] = _display(prop, value)
    return values


# ---------------------------------------------------------------- display fields


def _build_field(
    name: str,
    prop: Schema,
    required: bool,
    values: Mapping[str, DisplayValue],
    errors: Mapping[str, str],
) -> Field:
    widget = widget_for(prop)
    built = Field(
        name=name,
        title=str(prop.get("title", name)),
        widget=widget,
        required=required and widget not in {"stamp", "checkbox"},
        description=prop.get("description"),
        value=values.get(name, [] if widget == "checkboxes" else ""),
        error=errors.get(name),
        attrs=_attrs(prop),
    )
    options = enum_options(prop.get("items") or {}) if widget == "checkboxes" else None
    options = options or enum_options(prop) or []
    built.options = [(scalar_text(value), label) for value, label in options]
    if widget == "fieldset":
        built.children = [
            _build_field(f"{name}.{key}", sub, req, values, errors)
            for key, sub, req in properties_of(prop)
        ]
    elif widget == "table":
        built.children, built.rows = _table_cells(name, prop, values, errors)
    return built


def _table_cells(
    name: str, prop: Schema, values: Mapping[str, DisplayValue], errors: Mapping[str, str]
) -> tuple[list[Field], list[list[Field]]]:
    """Column headers and one list of cells per row; radios become selects inside a table."""
    items = prop.get("items") or {}
    columns = [_build_field(key, sub, req, {}, {}) for key, sub, req in properties_of(items)]
    count = int(str(values.get(name + ROWS_SUFFIX) or ROW_EXTRA))
    rows = []
    for index in range(count):
        cells = [
            _build_field(f"{name}.{index}.{key}", sub, req, values, errors)
            for key, sub, req in properties_of(items)
        ]
        for cell in cells:
            cell.widget = "select" if cell.widget == "radios" else cell.widget
            cell.required = False  # blank rows are dropped, so no browser-side requirement
        rows.append(cells)
    return columns, rows


def build_fields(
    schema: Schema,
    values: Mapping[str, DisplayValue] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[Field]:
    """The fields of a form, with display values and the field errors placed on them."""
    return [
        _build_field(key, prop, required, values or {}, errors or {})
        for key, prop, required in properties_of(schema)
    ]


def field_names(schema: Schema, prefix: str = "") -> list[str]:
    """Every input name of a form, nested ones dotted."""
    names: list[str] = []
    for key, prop, _required in properties_of(schema):
        names.append(prefix + key)
        widget = widget_for(prop)
        if widget == "fieldset":
            names.extend(field_names(prop, prefix=f"{prefix}{key}."))
        elif widget == "table":
            names.extend(field_names(prop.get("items") or {}, prefix=f"{prefix}{key}.*."))
    return names


def place_errors(
    schema: Schema, field_errors: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Split engine field errors into those shown on an input and those shown above the form.

    The engine keys errors by JSON path (`a.b`, `a/b` or `a/0`); an error on a list item is
    shown on the list's input, one on a cell of a table (`items.2.name`) on that cell.
    """
    known = set(field_names(schema))
    placed: dict[str, str] = {}
    general: list[str] = []
    for path, message in field_errors.items():
        parts = [p for p in path.replace("/", ".").split(".") if p]
        pattern = ["*" if p.isdigit() else p for p in parts]
        target = next(
            (
                ".".join(parts[:n])
                for n in range(len(parts), 0, -1)
                if ".".join(pattern[:n]) in known
            ),
            None,
        )
        if target is None:
            general.append(message)
        elif target in placed:
            placed[target] = f"{placed[target]}；{message}"
        else:
            placed[target] = message
    return placed, general


# ---------------------------------------------------------------- read-only display


def _readable(prop: Schema, value: Any) -> str:
    options = dict((scalar_text(v), label) for v, label in enum_options(prop) or [])
    items = prop.get("items") or {}
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_readable(items, v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{title}：{text}" for title, text in display_rows(prop, value))
    if prop.get("format") == "date-time" and isinstance(value, str):
        return _local_datetime_text(value).replace("T", " ")
    return options.get(scalar_text(value), scalar_text(value))


def display_rows(schema: Schema, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, readable value) of each form field present in data, in form order."""
    return [
        (str(prop.get("title", key)), _readable(prop, data[key]))
        for key, prop, _required in properties_of(schema)
        if key in data and data[key] is not None
    ]
