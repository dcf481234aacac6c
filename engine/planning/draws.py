"""The verifiable draw algorithm (xt-draw-v1): pure functions, no database.

How a draw is made, so that anyone holding the record can replay it:

1. The candidates are frozen as a list sorted by key (credit code, or agency then
   username) and hashed: `candidate_hash = sha256(canonical JSON)`, where canonical JSON
   is UTF-8, keys sorted, no spaces, non-ASCII kept.
2. The seed (64 hex characters from `secrets`, or supplied) is fixed and shown before
   the draw.
3. Each candidate gets `h = sha256("<seed>|<candidate_hash>|<key>")` read as a 256-bit
   big-endian integer, and `u = (h + 1) / (2**256 + 1)`, so 0 < u < 1.
4. Objects: weighted sampling without replacement (Efraimidis-Spirakis). The weight is
   `risk weight * credit weight` (DEFAULT_WEIGHTS unless the plan sets others); the
   sort key is `-ln(u) / weight`, ascending, ties broken by credit code; the first N
   win. Decimal arithmetic at 50 digits (whose ln is correctly rounded) keeps the
   result identical on every platform.
5. Inspectors: per agency (sorted by code) officers are ordered by `h` ascending; an
   officer with a declared conflict against a drawn object is recused and logged, and
   the next one in order replaces them, until the team is full.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from collections.abc import Sequence
from decimal import Context
from decimal import Decimal
from decimal import localcontext
from typing import Any

ALGORITHM_VERSION = "xt-draw-v1"

# Higher risk and worse credit are drawn more often; A-credit, low-risk entities are
# sampled less (Zhejiang regulations Art. 21; Guofa [2019] No. 5).
DEFAULT_WEIGHTS: dict[str, dict[str, str]] = {
    "risk": {"low": "1", "medium": "2", "high": "4"},
    "credit": {"A": "0.5", "B": "1", "C": "1.5", "D": "2"},
}

_PRECISION = 50
_SPACE = 2**256


def canonical_json(value: object) -> bytes:
    """The byte form that is hashed: sorted keys, no whitespace, UTF-8."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def candidate_hash(candidates: object) -> str:
    return hashlib.sha256(canonical_json(candidates)).hexdigest()


def new_seed() -> str:
    return secrets.token_hex(32)


def _ticket(seed: str, list_hash: str, key: str) -> int:
    digest = hashlib.sha256(f"{seed}|{list_hash}|{key}".encode()).digest()
    return int.from_bytes(digest, "big")


def _weight(candidate: Mapping[str, Any], weights: Mapping[str, Mapping[str, str]]) -> Decimal:
    risk = Decimal(weights["risk"][candidate["risk_grade"]])
    credit = Decimal(weights["credit"][candidate["credit_grade"]])
    return risk * credit


def select_objects(
    seed: str,
    candidates: Sequence[Mapping[str, Any]],
    count: int,
    weights: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """Credit codes of the `count` drawn objects, in draw order (step 4 above)."""
    list_hash = candidate_hash(candidates)
    keyed: list[tuple[Decimal, str]] = []
    with localcontext(Context(prec=_PRECISION)):
        for candidate in candidates:
            code = candidate["credit_code"]
            u = Decimal(_ticket(seed, list_hash, code) + 1) / Decimal(_SPACE + 1)
            keyed.append((-u.ln() / _weight(candidate, weights), code))
    keyed.sort()
    return [code for _key, code in keyed[:count]]


def select_teams(
    seed: str, candidates: Mapping[str, Mapping[str, Any]], team_size: int
) -> dict[str, Any]:
    """Teams per agency and the recusal log (step 5 above).

    `candidates` maps agency code to `{"field": ..., "officers": [{"username",
    "certificate", "conflicts": [credit codes]}]}`. A team may come out short; the
    caller decides whether that is allowed.
    """
    list_hash = candidate_hash(candidates)
    teams: dict[str, list[dict[str, str]]] = {}
    redraws: list[dict[str, Any]] = []
    for agency in sorted(candidates):
        officers = sorted(
            candidates[agency]["officers"],
            key=lambda o: (_ticket(seed, list_hash, f"{agency}|{o['username']}"), o["username"]),
        )
        teams[agency] = _fill_team(agency, officers, team_size, redraws)
    return {"teams": teams, "redraws": redraws}


def _fill_team(
    agency: str,
    ordered: Sequence[Mapping[str, Any]],
    team_size: int,
    redraws: list[dict[str, Any]],
) -> list[dict[str, str]]:
    team: list[dict[str, str]] = []
    waiting: list[dict[str, Any]] = []
    for officer in ordered:
        if len(team) == team_size:
            break
        if officer["conflicts"]:
            entry = {
                "agency": agency,
                "username": officer["username"],
                "reason": "conflict_of_interest",
                "credit_codes": list(officer["conflicts"]),
                "replaced_by": None,
            }
            redraws.append(entry)
            waiting.append(entry)
            continue
        team.append({"username": officer["username"], "certificate": officer["certificate"]})
        if waiting:
            waiting.pop(0)["replaced_by"] = officer["username"]
    return team
