"""Checks on untrusted text and JSON before it reaches the engine or the database.

Databases refuse NUL in text and cannot encode a lone surrogate (`"\\ud800"` in JSON) as
UTF-8; Unicode non-characters (U+FFFE, U+FFFF, U+FDD0..U+FDEF, ...) are never text a person
typed. Deeply nested JSON makes Python's parser, jsonschema and the serializer recurse until
RecursionError. Pure functions: no database, no IO.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024

NUL = "nul"
SURROGATE = "surrogate"
NONCHARACTER = "noncharacter"

_NONCHARACTERS = "".join(
    [chr(c) for c in range(0xFDD0, 0xFDF0)]
    + [chr(plane * 0x10000 + low) for plane in range(17) for low in (0xFFFE, 0xFFFF)]
)
_BAD = re.compile(f"(\x00)|([\ud800-\udfff])|([{re.escape(_NONCHARACTERS)}])")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


def text_problem(text: str) -> str | None:
    """NUL, SURROGATE or NONCHARACTER for the first bad character of the text, else None."""
    match = _BAD.search(text)
    if match is None:
        return None
    return (NUL, SURROGATE, NONCHARACTER)[(match.lastindex or 1) - 1]


def value_problem(value: Any) -> str | None:
    """The first bad character anywhere in a JSON value (keys included), without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, Mapping):
            pending.extend(str(k) for k in item)
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return None


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit` (strings ignored)."""
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: str) -> Any:
    """json.loads that refuses NaN and Infinity (no database stores them as JSON).

    Raises:
        ValueError: invalid JSON, or NaN/Infinity.
    """
    return json.loads(text, parse_constant=_refuse_constant)


def is_storable(value: Any) -> bool:
    """Whether a JSON-like value can be written as UTF-8 (no lone surrogates); C speed."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (TypeError, ValueError):
        return True  # not JSON data at all: the serializer decides
    return True
