"""Validation of submitted task data against the task's JSON Schema form.

Field error messages are shown inline next to the field, so they are written in Chinese
here; everything else the engine says is English.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import untrusted
from engine.cases.form_offers import acting_org_errors
from engine.cases.form_offers import choice_errors
from engine.cases.form_offers import unique_errors
from engine.cases.form_windows import window_errors
from engine.errors import InvalidTaskData
from engine.execution.script_api import LEGAL_TZ
from engine.execution.script_api import SCRIPT_API
from engine.models import Organization
from engine.models import User
from engine.planning.models import InspectorConflict

FORMAT_CHECKER = FormatChecker()
STAMP = "x-xietong-stamp"
TEAM = "x-xietong-team"
WIDGET = "x-xietong-widget"
ORG_TYPES = "x-xietong-org-types"
NO_SUCH_ORG = "没有这个机构"
USERS = "x-xietong-users"
NO_SUCH_USER = "没有这个用户"


def _field_of(error: ValidationError) -> str:
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return ".".join([*map(str, error.absolute_path), missing]).strip(".")
    if error.validator == "additionalProperties":
        return ".".join(map(str, error.absolute_path)) or "_form"
    return ".".join(map(str, error.absolute_path)) or "_form"


def _message_of(error: ValidationError) -> str:
    messages = {
        "required": "必填",
        "type": f"类型应为 {error.validator_value}",
        "minLength": "不能为空"
        if error.validator_value == 1
        else f"至少 {error.validator_value} 个字",
        "maxLength": f"最多 {error.validator_value} 个字",
        "minimum": f"不能小于 {error.validator_value}",
        "maximum": f"不能大于 {error.validator_value}",
        "minItems": f"至少 {error.validator_value} 项",
        "enum": "不是允许的选项",
        "const": "不是允许的选项",
        "oneOf": "不是允许的选项",
        "anyOf": "请至少填写其中一项",
        "format": f"格式不正确(应为 {error.validator_value})",
        "pattern": "格式不正确",
        "additionalProperties": "表单中没有这个字段",
    }
    return messages.get(str(error.validator), str(error.message))


def _schema_errors(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, str]:
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        for leaf in _leaves(error):
            errors.setdefault(_field_of(leaf), _message_of(leaf))
    return errors


def _leaves(error: ValidationError) -> list[ValidationError]:
    # `if/then` and combinators report their own failures as context: surface the leaves.
    if error.validator in {"oneOf", "anyOf"} or not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def _unknown_fields(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, str]:
    if "properties" not in schema:
        return {}
    properties = schema["properties"]
    return {key: "表单中没有这个字段" for key in data if key not in properties}


def stamp_fields(schema: Mapping[str, Any]) -> list[str]:
    return [k for k, v in schema.get("properties", {}).items() if v.get(STAMP)]


@dataclass(frozen=True)
class Submitter:
    """Who submits, in which case: what the rules beyond the JSON Schema need.

    `user` is None for the system (a case started for another case); `case_start` is None
    for a start form (the case starts now); `earlier` holds the data of earlier completions
    of the same task in the case, oldest first.
    """

    user: User | None = None
    case_start: datetime | None = None
    earlier: Sequence[Mapping[str, Any]] = ()


def validate_submission(
    session: Session,
    schema: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    now: datetime,
    context: Mapping[str, Any] | None = None,
    submitter: Submitter | None = None,
) -> dict[str, Any]:
    """Check submitted data; return it with engine-set fields (time stamps) filled in.

    Only fields the form declares are accepted, so a submission can never overwrite
    routing variables or script helpers. `context` is the task's data as the server holds
    it: offered choices and date windows are read from it, never from the submission.

    Raises:
        InvalidTaskData: naming every bad field.
    """
    cleaned = {k: v for k, v in data.items() if k not in stamp_fields(schema)}
    for key, prop in schema.get("properties", {}).items():
        if key not in cleaned and "default" in prop:
            cleaned[key] = prop["default"]
    for key in stamp_fields(schema):
        cleaned[key] = now.astimezone(LEGAL_TZ).replace(second=0, microsecond=0).isoformat()
    errors = _unknown_fields(schema, cleaned)
    errors.update({k: "字段名与系统函数同名" for k in cleaned if k in SCRIPT_API})
    errors.update(_bad_text_errors(cleaned))
    errors.update(_schema_errors(schema, cleaned))
    if not errors:
        errors.update(
            _rule_errors(session, schema, cleaned, context or {}, submitter or Submitter(), now)
        )
    if errors:
        raise InvalidTaskData(
            f"invalid data in {len(errors)} field(s): {', '.join(errors)}", errors
        )
    return cleaned


def _rule_errors(
    session: Session,
    schema: Mapping[str, Any],
    cleaned: Mapping[str, Any],
    context: Mapping[str, Any],
    submitter: Submitter,
    now: datetime,
) -> dict[str, str]:
    """The Xietong rules beyond JSON Schema, run once the data has the schema's shape."""
    merged = {**context, **cleaned}
    start = submitter.case_start or now
    found = (
        org_errors(session, schema, cleaned),
        acting_org_errors(schema, cleaned, submitter.user),
        choice_errors(schema, cleaned, context),
        unique_errors(schema, cleaned, submitter.earlier),
        window_errors(schema, cleaned, merged, now=now, case_start=start),
        _team_errors(session, schema, cleaned, merged, now),
        user_list_errors(session, schema, cleaned),
    )
    errors: dict[str, str] = {}
    for each in found:  # the first rule to name a field explains it
        for path, message in each.items():
            errors.setdefault(path, message)
    return errors


BAD_TEXT_MESSAGES = {
    untrusted.NUL: "不能包含控制字符 NUL",
    untrusted.SURROGATE: "含有无效的 Unicode 字符",
    untrusted.NONCHARACTER: "含有 Unicode 非字符(如 U+FFFF)",
}


def _bad_text_errors(data: Mapping[str, Any]) -> dict[str, str]:
    # Databases refuse NUL and cannot encode lone surrogates: refuse them here, not at commit.
    errors: dict[str, str] = {}
    for key, value in data.items():
        problem = untrusted.value_problem({key: value})
        if problem is not None:
            errors[key] = BAD_TEXT_MESSAGES[problem]
    return errors


def _resolve(ref: Any, data: Mapping[str, Any]) -> Any:
    if isinstance(ref, str) and ref.startswith("="):
        return data.get(ref[1:])
    return ref


def _team_errors(
    session: Session,
    schema: Mapping[str, Any],
    cleaned: Mapping[str, Any],
    data: Mapping[str, Any],
    now: datetime,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    for key, prop in schema.get("properties", {}).items():
        rule = prop.get(TEAM)
        if rule is None or key not in cleaned:
            continue
        problem = team_problem(session, list(cleaned[key] or []), rule, data, now)
        if problem:
            errors[key] = problem
    return errors


def _on_date(rule: Mapping[str, Any], data: Mapping[str, Any], now: datetime) -> date:
    raw = _resolve(rule.get("date"), data)
    if isinstance(raw, str) and raw:
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            pass
    return now.astimezone(LEGAL_TZ).date()


def team_problem(
    session: Session,
    usernames: list[str],
    rule: Mapping[str, Any],
    data: Mapping[str, Any],
    now: datetime,
) -> str | None:
    """Why a case team breaks the law (行政处罚法 Art. 42), or None when it is valid."""
    minimum = int(rule.get("min", 2))
    distinct = sorted(set(usernames))
    if len(distinct) < minimum:
        return f"至少需要 {minimum} 名不同的执法人员"
    users = {
        u.username: u for u in session.scalars(select(User).where(User.username.in_(distinct)))
    }
    field = _resolve(rule.get("field"), data)
    org = _resolve(rule.get("org"), data)
    on = _on_date(rule, data, now)
    for name in distinct:
        user = users.get(name)
        if user is None or not user.active:
            return f"{name}: 用户不存在或已停用"
        if org and user.org_code != org:
            return f"{name}: 不是 {org} 的执法人员"
        if not _has_valid_certificate(user, field, on):
            return f"{name}: 没有在 {on.isoformat()} 有效且覆盖该执法领域的执法证"
    return _recusal_problem(session, users, _resolve(rule.get("party"), data))


def _recusal_problem(session: Session, users: Mapping[str, User], party: Any) -> str | None:
    """A member with a declared conflict of interest with the party must step aside."""
    if not party or not users:
        return None
    by_id = {user.id: name for name, user in users.items()}
    conflicted = session.scalars(
        select(InspectorConflict.user_id).where(
            InspectorConflict.user_id.in_(by_id), InspectorConflict.credit_code == str(party)
        )
    ).first()
    if conflicted is None:
        return None
    return f"{by_id[conflicted]}: 与当事人有利害关系, 应当回避 (《行政处罚法》第四十三条)"


def _has_valid_certificate(user: User, field: Any, on: date) -> bool:
    for cert in user.certificates:
        starts_ok = cert.valid_from is None or cert.valid_from <= on
        covers = not field or field in (cert.fields or [])
        if starts_ok and cert.valid_until >= on and covers:
            return True
    return False


OrgValue = tuple[str, str, list[str]]


def _org_values(schema: Any, value: Any, path: str) -> list[OrgValue]:
    """(field path, code, allowed types) of every org-picker value in the data."""
    if not isinstance(schema, Mapping):
        return []
    if schema.get(WIDGET) == "org":
        return [(path, value, list(schema.get(ORG_TYPES) or []))] if isinstance(value, str) else []
    if isinstance(value, list):
        return [
            found
            for index, item in enumerate(value)
            for found in _org_values(schema.get("items"), item, f"{path}.{index}")
        ]
    if isinstance(value, Mapping):
        return _object_org_values(schema, value, path)
    return []


def _object_org_values(
    schema: Mapping[str, Any], value: Mapping[str, Any], path: str
) -> list[OrgValue]:
    properties = schema.get("properties") or {}
    found: list[OrgValue] = []
    for key, item in value.items():
        sub = properties.get(key, schema.get("additionalProperties"))
        found.extend(_org_values(sub, item, f"{path}.{key}".strip(".")))
    return found


def org_errors(
    session: Session, schema: Mapping[str, Any], data: Mapping[str, Any]
) -> dict[str, str]:
    """Org-picker fields (`x-xietong-widget: org`) naming no active organization of an
    allowed type (`x-xietong-org-types`). Queries only when the data holds such a value.
    """
    values = _org_values(schema, data, "")
    if not values:
        return {}
    codes = {code for _path, code, _types in values}
    statement = select(Organization.code, Organization.type).where(
        Organization.code.in_(codes), Organization.active.is_(True)
    )
    types_of = {code: str(kind) for code, kind in session.execute(statement)}
    return {
        path: NO_SUCH_ORG
        for path, code, types in values
        if code not in types_of or (types and types_of[code] not in types)
    }


def user_list_errors(
    session: Session, schema: Mapping[str, Any], data: Mapping[str, Any]
) -> dict[str, str]:
    """Username lists (`x-xietong-users: true`, e.g. an access list) naming no active user.

    One query, and only when the data holds such a list; the error names the unknown users.
    """
    lists = {
        key: [str(name) for name in data[key]]
        for key, prop in (schema.get("properties") or {}).items()
        if prop.get(USERS) and isinstance(data.get(key), list)
    }
    names = {name for values in lists.values() for name in values}
    if not names:
        return {}
    known = set(
        session.scalars(
            select(User.username).where(User.username.in_(names), User.active.is_(True))
        )
    )
    errors = {}
    for key, values in lists.items():
        unknown = [name for name in values if name not in known]
        if unknown:
            errors[key] = f"{NO_SUCH_USER}：{'、'.join(unknown)}"  # noqa: RUF001 - Chinese message
    return errors
