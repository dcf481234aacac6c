"""Turn a task's JSON Schema into the fields the `_macros/form.html` macro draws.

`build_fields` pairs each property with its widget, display value and inline error;
`display_rows` reads submitted data back for a finished task. Reading a posted form lives in
web.form_input; validation rules live in engine.cases.forms.

Organization pickers (`x-xietong-widget: org`) need the active organizations and the signed-in
user's organization: pass a `FormContext`, or inside a request one is loaded (once per request,
and only for a form that has such a field).
"""

from __future__ import annotations

from collections.abc import Mapping

from web.form_schema import ACTING_ORG
from web.form_schema import CHOICES_SUFFIX
from web.form_schema import KEY
from web.form_schema import ORG_TYPES
from web.form_schema import ROW_EXTRA
from web.form_schema import ROW_WIDGETS
from web.form_schema import ROWS_SUFFIX
from web.form_schema import DisplayValue
from web.form_schema import Field
from web.form_schema import FormContext
from web.form_schema import OrgChoice
from web.form_schema import Schema
from web.form_schema import enum_options
from web.form_schema import field_attrs
from web.form_schema import form_context
from web.form_schema import properties_of
from web.form_schema import row_schema
from web.form_schema import widget_for
from web.form_values import scalar_text
from web.labels import ORG_TYPE_LABELS

# ---------------------------------------------------------------- display fields


def _org_options(prop: Schema, value: DisplayValue, context: FormContext) -> list[OrgChoice]:
    """The organizations an org picker offers; a stored code no longer offered stays listed.

    A field naming the acting side (`x-xietong-acting-org`) offers only the organizations
    the user acts for, and nothing else, whatever was posted.
    """
    types = prop.get(ORG_TYPES)
    choices = [o for o in context.orgs if not types or o.type in types]
    if prop.get(ACTING_ORG) is True:
        return [o for o in choices if o.code in context.acting]
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
        attrs=field_attrs(prop),
    )
    options = enum_options(prop.get("items") or {}) if widget == "checkboxes" else None
    options = options or enum_options(prop) or []
    built.options = [(scalar_text(value), label) for value, label in options]
    choices = values.get(name + CHOICES_SUFFIX)
    if widget == "org":
        _fill_org(built, prop, context)
    elif isinstance(choices, list) and choices:
        _fill_choices(built, choices)
    elif widget == "fieldset":
        built.children = [
            _build_field(f"{name}.{key}", sub, req, values, errors, context)
            for key, sub, req in properties_of(prop)
        ]
    elif widget in ROW_WIDGETS:
        built.children, built.rows = _table_cells(name, prop, values, errors, context)
    return built


def _fill_choices(built: Field, choices: list[str]) -> None:
    """A field offering the server's choices: a select, or checkboxes for a list of values."""
    built.options = [(choice, choice) for choice in choices]
    if built.widget == "lines":
        built.widget = "checkboxes"
        built.value = str(built.value).splitlines()
    else:
        built.widget = "choices"


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
        for (key, _sub, _req), cell in zip(properties_of(items), cells, strict=True):
            cell.widget = "select" if cell.widget == "radios" else cell.widget
            cell.required = False  # blank rows are dropped, so no browser-side requirement
            offered = values.get(f"{name}.*.{key}{CHOICES_SUFFIX}")
            if isinstance(offered, list) and offered:
                _fill_choices(cell, offered)
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
