"""Form rules about who may say what, and which values the server offered.

`x-xietong-acting-org: true` marks an organization field that names the acting side (lead
agency, starting agency, register owner): its value must be an organization the submitting
user acts for. `x-xietong-choices` names the task data a field's value is chosen from (the
proposed visit dates, the drawn inspectors, the delegated item codes); the offer is read
again from the server's own task data at submit, never from what the browser posts back.
`x-xietong-unique: "task"` refuses a value already given by an earlier completion of the
same task (one annual evaluation per period). Field errors are Chinese; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from engine.models import User
from engine.people.access import acting_orgs

ACTING_ORG = "x-xietong-acting-org"
CHOICES = "x-xietong-choices"
UNIQUE = "x-xietong-unique"

Node = tuple[str, Mapping[str, Any], Any]


def walk(schema: Any, value: Any, path: str = "") -> Iterator[Node]:
    """(field path, property schema, value) of every value present in the data."""
    if not isinstance(schema, Mapping):
        return
    if path:
        yield path, schema, value
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(schema.get("items"), item, f"{path}.{index}".strip("."))
    elif isinstance(value, Mapping):
        properties = schema.get("properties") or {}
        for key, item in value.items():
            sub = properties.get(key, schema.get("additionalProperties"))
            yield from walk(sub, item, f"{path}.{key}".strip("."))


def title_of(prop: Mapping[str, Any], path: str) -> str:
    return str(prop.get("title") or path)


def acting_org_errors(
    schema: Mapping[str, Any], data: Mapping[str, Any], user: User | None
) -> dict[str, str]:
    """Acting-side organization fields naming an organization the user does not act for.

    Without a user (a case started by the system for another case) there is no one to check.
    """
    if user is None:
        return {}
    allowed = acting_orgs(user)
    return {
        path: f"{title_of(prop, path)}只能是您所在的机构 ({'、'.join(sorted(allowed))})"
        for path, prop, value in walk(schema, data)
        if prop.get(ACTING_ORG) is True and isinstance(value, str) and value not in allowed
    }


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted data path; a part `=key` is replaced by the data's `key` value."""
    found: Any = data
    for part in path.split("."):
        name = str(data.get(part[1:], "")) if part.startswith("=") else part
        found = found.get(name) if isinstance(found, Mapping) else None
    return found


def offered(rule: Any, data: Mapping[str, Any]) -> list[str] | None:
    """The values a choices rule offers from task data, or None when it offers nothing.

    The rule is a data path (`date_proposals.dates`) or `{"path": ..., "key": ...}` for a list
    of objects whose `key` cells are the choices (`{"path": "items", "key": "item_code"}`).
    """
    path, key = (rule, None) if isinstance(rule, str) else (rule.get("path"), rule.get("key"))
    found = lookup(data, str(path))
    if not isinstance(found, list) or not found:
        return None
    if key:
        found = [item.get(key) for item in found if isinstance(item, Mapping)]
    return [str(value) for value in found if value is not None]


def _chosen(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return [] if value is None else [str(value)]


def choice_errors(
    schema: Mapping[str, Any], cleaned: Mapping[str, Any], task_data: Mapping[str, Any]
) -> dict[str, str]:
    """Fields whose value is not among what the server offers now from the task data."""
    errors: dict[str, str] = {}
    for path, prop, value in walk(schema, cleaned):
        rule = prop.get(CHOICES)
        choices = offered(rule, task_data) if rule else None
        if choices is None:
            continue
        wrong = [item for item in _chosen(value) if item not in choices]
        if wrong:
            errors[path] = f"{title_of(prop, path)}只能从系统给出的选项中选择 ({wrong[0]} 不在其中)"
    return errors


def needs_history(schema: Mapping[str, Any]) -> bool:
    """Whether the form has a field checked against earlier completions of its task."""
    return any(prop.get(UNIQUE) for prop in (schema.get("properties") or {}).values())


def _normal(value: Any) -> str:
    return "".join(str(value).split()).casefold()


def unique_errors(
    schema: Mapping[str, Any], cleaned: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """`x-xietong-unique: "task"` fields repeating a value of an earlier completion."""
    errors: dict[str, str] = {}
    for key, prop in (schema.get("properties") or {}).items():
        if prop.get(UNIQUE) != "task" or key not in cleaned:
            continue
        given = {_normal(entry[key]) for entry in earlier if entry.get(key) is not None}
        if _normal(cleaned[key]) in given:
            errors[key] = f"{title_of(prop, key)}「{cleaned[key]}」已经办理过, 同一期间只能办理一次"
    return errors
