"""Which form fields collect a public official's personal data, and where they may not.

Misconduct clues about public officials are confidential (监察法 Art. 18; 政务处分法
Art. 39): only a confidential process (process.json `"confidential": true`, the discipline
referral) may collect an official's name, unit, post or conduct. A field that does carries
`"x-xietong-personal": "official"`. In any other process such a field, or one whose key or
Chinese title looks like one (OFFICIAL_KEY_PATTERNS, OFFICIAL_TITLE_PATTERNS), is a deploy
problem. This module only reads schemas; checks.py reports what it finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

PERSONAL_MARK = "x-xietong-personal"
OFFICIAL = "official"
# Keys of fields about the official concerned. `officials_involved` (a yes/no flag) is not
# one, nor `person_name` alone: reverse transfers name the party (a person or a firm) so.
OFFICIAL_KEY_PATTERNS = (
    re.compile(r"^official_(person|conduct)"),
    re.compile(r"^person_(unit|post)$"),
    re.compile(r"^(mis)?conduct_(type|summary)$"),
    re.compile(r"^misconduct_(person|summary)"),
)
OFFICIAL_TITLE_PATTERNS = ("公职人员", "职务", "工作单位", "违纪", "涉及人员")
NESTED_KEYS = ("items", "additionalProperties", "then", "else", "if")
COMBINATOR_KEYS = ("allOf", "anyOf", "oneOf")


def _properties(
    schema: Mapping[str, Any], path: str
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for key, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, Mapping):
            yield f"{path}{key}", str(key), prop
            yield from _properties(prop, f"{path}{key}.")
    for key in NESTED_KEYS:
        nested = schema.get(key)
        if isinstance(nested, Mapping):
            yield from _properties(nested, path)
    for key in COMBINATOR_KEYS:
        for branch in schema.get(key) or ():
            if isinstance(branch, Mapping):
                yield from _properties(branch, path)


def official_fields(schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field path, reason) of every field in a form that is or looks like an official's data."""
    found: dict[str, str] = {}
    for path, key, prop in _properties(schema, ""):
        title = str(prop.get("title") or "")
        if prop.get(PERSONAL_MARK) == OFFICIAL:
            found.setdefault(path, f"marked {PERSONAL_MARK}")
        elif any(p.search(key) for p in OFFICIAL_KEY_PATTERNS):
            found.setdefault(path, f"key {key!r} names an official's data")
        elif any(word in title for word in OFFICIAL_TITLE_PATTERNS):
            found.setdefault(path, f"title {title!r} asks for an official's data")
    return sorted(found.items())


def unmarked_official_fields(schema: Mapping[str, Any]) -> list[str]:
    """Fields of a confidential form that look like an official's data but lack the mark.

    Yes/no fields are left out: a confirmation such as "did not question the person
    concerned" holds no personal data.
    """
    types = {path: prop.get("type") for path, _key, prop in _properties(schema, "")}
    return [
        path
        for path, reason in official_fields(schema)
        if not reason.startswith("marked") and types.get(path) != "boolean"
    ]
