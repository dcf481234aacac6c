"""Form schemas as pages read them: widgets per property, organization choices, field types."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from flask import has_request_context

from engine.models import Organization
from engine.people import access
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


ACTING_ORG = "x-xietong-acting-org"


# Display values under `<name>.#choices` are the choices a field offers, read by the server
# from the task data (never posted back by the browser).
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
    acting: frozenset[str] = frozenset()

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
    if user is None:
        return FormContext(orgs=orgs)
    return FormContext(orgs=orgs, user_org=user.org_code, acting=access.acting_orgs(user))


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


def field_attrs(prop: Schema) -> dict[str, str]:
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
