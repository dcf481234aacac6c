"""Unified social credit code (统一社会信用代码) checks per GB 32100-2015.

An 18-character code: registration authority (1), entity type (1), division code (6),
entity identifier (9, the GB 11714 organization code with its own check character) and
one check character computed over the first 17 with weights 3^i mod 31.
"""

from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(rf"^[{CHARSET}]{{18}}$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_character(first17: str) -> str:
    """The GB 32100 check character of a code's first 17 characters."""
    if len(first17) != 17 or any(c not in CHARSET for c in first17):
        raise ValueError("expected 17 characters from the GB 32100 character set")
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check_character(first8: str) -> str:
    """The GB 11714 check character of an organization code body (used by the demo data)."""
    total = sum(_org_value(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, or None when it is."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    if not _SHAPE.match(code):
        return "contains characters outside 0-9 and A-Y without I, O, S, V, Z"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check digit is {code[17]}, expected {expected}"
    return None


def is_valid_credit_code(code: str) -> bool:
    return credit_code_problem(code) is None
