"""Turn a task's JSON Schema into the fields the `_macros/form.html` macro draws.

`build_fields` pairs each property with its widget, display value and inline error;
`display_rows` reads submitted data back for a finished task. Reading a posted form lives in
web.form_input; validation rules live in engine.cases.forms.

Organization pickers (`x-xietong-widget: org`) need the active organizations and the signed-in
user's organization: pass a `FormContext`, or inside a request one is loaded (once per request,
and only for a form that has such a field).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from flask import has_request_context

from engine.models import Organization
from engine.people import accounts
from web.auth import current_user
from web.labels import ORG_TYPE_LABELS
from web.session import get_session

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TEXTAREA_MIN_LENGTH = 200
RADIO_MAX_OPTIONS = 4
# Blank rows offered under a list of objects, and added by the "more rows" button.
ROW_EXTRA = 3
ROWS_SUFFIX = ".#rows"
SCALAR_WIDGETS = frozenset(
    {
        "text",
        "textarea",
        "integer",
        "number",
        "checkbox",
        "date",
        "datetime",
        "radios",
        "select",
        "org",
    }
)
# Widgets drawn as a table of rows: a list of objects, or an object keyed by a row's column.
ROW_WIDGETS = frozenset({"table", "keyed"})
WIDGET = "x-xietong-widget"
ORG_TYPES = "x-xietong-org-types"
KEY = "x-xietong-key"
DEFAULT = "x-xietong-default"
CHOICES = "x-xietong-choices"
# Display values under `<name>.#choices` are the choices a field offers, read from the data.
CHOICES_SUFFIX = ".#choices"

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
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OrgChoice:
    """An active organization an org picker offers."""

    code: str
    name: str
    type: str


@dataclass(frozen=True)
class FormContext:
    """What forms need beyond their schema: the organizations and the user's own one."""

    orgs: Sequence[OrgChoice] = ()
    user_org: str | None = None

    def org(self, code: str | None) -> OrgChoice | None:
        return next((o for o in self.orgs if o.code == code), None)

    def org_name(self, code: str) -> str | None:
        found = self.org(code)
        return found.name if found else None

    def default_org(self, prop: Schema) -> str | None:
        """The user's organization, when the picker offers it."""
        own = self.org(self.user_org)
        types = prop.get(ORG_TYPES)
        return own.code if own and (not types or own.type in types) else None


def _load_request_context() -> FormContext:
    active = [o for o in accounts.list_orgs(get_session()) if o.active]
    orgs = [OrgChoice(o.code, o.name, str(o.type)) for o in sorted(active, key=_org_order)]
    user = current_user()
    return FormContext(orgs=orgs, user_org=user.org_code if user else None)


def _org_order(org: Organization) -> tuple[int, str]:
    """County bodies in the order ORG_TYPE_LABELS lists their types, then by code."""
    types = list(ORG_TYPE_LABELS)
    rank = types.index(org.type) if org.type in types else len(types)
    return rank, org.code


def form_context(schema: Schema, context: FormContext | None = None) -> FormContext:
    """The given context, else the request's (loaded only when the form picks organizations)."""
    if context is not None:
        return context
    if not has_request_context() or not has_org_fields(schema):
        return FormContext()
    if "form_context" not in g:
        g.form_context = _load_request_context()
    loaded: FormContext = g.form_context
    return loaded


def is_org(prop: Schema) -> bool:
    return prop.get(WIDGET) == "org"


def has_org_fields(schema: Any) -> bool:
    """Whether any property of the schema, however deeply nested, is an org picker."""
    if isinstance(schema, Mapping):
        return is_org(schema) or any(has_org_fields(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_org_fields(v) for v in schema)
    return False


def row_schema(prop: Schema) -> Schema:
    """The schema of one row of a table: a list's items, or a keyed object's values."""
    rows = prop.get("items") or prop.get("additionalProperties")
    return rows if isinstance(rows, Mapping) else {}


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
    if is_org(prop):
        return "org"
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
        return _object_widget(prop)
    return _string_widget(prop)


def _object_widget(prop: Schema) -> str:
    rows = row_schema(prop)
    if KEY not in prop or "properties" in prop or prop_type(rows) != "object":
        return "fieldset"
    columns = [widget_for(sub) for _key, sub, _required in properties_of(rows)]
    return "keyed" if columns and set(columns) <= SCALAR_WIDGETS else "json"


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


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    found: Any = data
    for part in path.split("."):
        found = found.get(part) if isinstance(found, Mapping) else None
    return found


def _choices_from_data(
    schema: Schema, data: Mapping[str, Any], prefix: str
) -> dict[str, DisplayValue]:
    """`"x-xietong-choices": "a.b"`: the field offers the values of the list at data path a.b."""
    values: dict[str, DisplayValue] = {}
    for key, prop, _required in properties_of(schema):
        found = _lookup(data, str(prop[CHOICES])) if CHOICES in prop else None
        if isinstance(found, list) and found:
            values[prefix + key + CHOICES_SUFFIX] = [scalar_text(v) for v in found]
    return values


# ---------------------------------------------------------------- display fields


def _org_options(prop: Schema, value: DisplayValue, context: FormContext) -> list[OrgChoice]:
    """The organizations an org picker offers; a stored code no longer offered stays listed."""
    types = prop.get(ORG_TYPES)
    choices = [o for o in context.orgs if not types or o.type in types]
    if isinstance(value, str) and value and value not in {o.code for o in choices}:
        choices.append(OrgChoice(value, value, ""))
    return choices


def _org_groups(choices: list[OrgChoice]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Options grouped by organization type, when there is more than one type."""
    types = list(dict.fromkeys(o.type for o in choices))
    if len(types) < 2:  # one type needs no group headings
        return []
    return [
        (ORG_TYPE_LABELS.get(kind, "其他"), [(o.code, o.name) for o in choices if o.type == kind])
        for kind in types
    ]


def _fill_org(built: Field, prop: Schema, context: FormContext) -> None:
    choices = _org_options(prop, built.value, context)
    built.options = [(o.code, o.name) for o in choices]
    built.groups = _org_groups(choices)


def _build_field(
    name: str,
    prop: Schema,
    required: bool,
    values: Mapping[str, DisplayValue],
    errors: Mapping[str, str],
    context: FormContext,
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
    choices = values.get(name + CHOICES_SUFFIX)
    if widget == "org":
        _fill_org(built, prop, context)
    elif isinstance(choices, list) and choices:
        built.widget = "choices"
        built.options = [(choice, choice) for choice in choices]
    elif widget == "fieldset":
        built.children = [
            _build_field(f"{name}.{key}", sub, req, values, errors, context)
            for key, sub, req in properties_of(prop)
        ]
    elif widget in ROW_WIDGETS:
        built.children, built.rows = _table_cells(name, prop, values, errors, context)
    return built


def _row_errors(
    name: str,
    prop: Schema,
    index: int,
    values: Mapping[str, DisplayValue],
    errors: Mapping[str, str],
) -> Mapping[str, str]:
    """Errors of one row, keyed by cell name; the engine names a keyed row by its key."""
    key = prop.get(KEY)
    row_key = values.get(f"{name}.{index}.{key}") if key else None
    if not isinstance(row_key, str) or not row_key:
        return errors
    by_key = f"{name}.{row_key}."
    moved = {
        f"{name}.{index}.{path.removeprefix(by_key)}": message
        for path, message in errors.items()
        if path.startswith(by_key)
    }
    return {**errors, **moved}


def _table_cells(
    name: str,
    prop: Schema,
    values: Mapping[str, DisplayValue],
    errors: Mapping[str, str],
    context: FormContext,
) -> tuple[list[Field], list[list[Field]]]:
    """Column headers and one list of cells per row; radios become selects inside a table."""
    items = row_schema(prop)
    columns = [
        _build_field(key, sub, req, {}, {}, context) for key, sub, req in properties_of(items)
    ]
    count = int(str(values.get(name + ROWS_SUFFIX) or ROW_EXTRA))
    rows = []
    for index in range(count):
        row_errors = _row_errors(name, prop, index, values, errors)
        cells = [
            _build_field(f"{name}.{index}.{key}", sub, req, values, row_errors, context)
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
    context: FormContext | None = None,
) -> list[Field]:
    """The fields of a form, with display values and the field errors placed on them."""
    loaded = form_context(schema, context)
    return [
        _build_field(key, prop, required, values or {}, errors or {}, loaded)
        for key, prop, required in properties_of(schema)
    ]


def field_names(schema: Schema, prefix: str = "") -> list[str]:
    """Every input name of a form, nested ones dotted; `*` stands for a row number or key."""
    names: list[str] = []
    for key, prop, _required in properties_of(schema):
        names.append(prefix + key)
        widget = widget_for(prop)
        if widget == "fieldset":
            names.extend(field_names(prop, prefix=f"{prefix}{key}."))
        elif widget in ROW_WIDGETS:
            names.extend(field_names(row_schema(prop), prefix=f"{prefix}{key}.*."))
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
        pattern = _pattern(parts, known)
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


def _pattern(parts: list[str], known: set[str]) -> list[str]:
    """The path with row numbers, and the keys of keyed rows, replaced by `*`."""
    pattern: list[str] = []
    for part in parts:
        row = ".".join([*pattern, "*"])
        is_row = part.isdigit() or any(name.startswith(f"{row}.") for name in known)
        pattern.append("*" if is_row else part)
    return pattern


# ---------------------------------------------------------------- read-only display


def _readable(prop: Schema, value: Any, context: FormContext) -> str:
    options = dict((scalar_text(v), label) for v, label in enum_options(prop) or [])
    if isinstance(value, bool):
        return "是" if value else "否"
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
