"""Draws against the database: freeze candidates, apply caps, run, verify (DOMAIN.md C2).

The arithmetic is in engine.planning.draws; this module gathers candidates, stores the
DrawRecord and enforces the legal rules (caps, team size, certificates, recusal).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainRuleViolation
from engine.errors import NotFound
from engine.models import User
from engine.models import utcnow
from engine.planning import draws
from engine.planning.caps import capped_entities
from engine.planning.inspectors import agency_officers
from engine.planning.inspectors import busy_days
from engine.planning.inspectors import certificate_for
from engine.planning.inspectors import conflicts_of
from engine.planning.models import CapOverride
from engine.planning.models import DrawKind
from engine.planning.models import DrawRecord
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorAssignment
from engine.planning.service import require_plan
from engine.planning.townships import township_code

logger = logging.getLogger(__name__)

FILTER_KEYS = ("industries", "townships", "risk_grades", "credit_grades", "exclude")
MIN_TEAM_SIZE = 2
MAX_SEED_LENGTH = 128


@dataclass(frozen=True)
class VerifyResult:
    match: bool
    expected: Any
    stored: Any
    reasons: list[str] = field(default_factory=list)


def get_draw_record(session: Session, record_id: int) -> DrawRecord:
    """Raises: NotFound when there is no such record."""
    record = session.get(DrawRecord, record_id)
    if record is None:
        raise NotFound(f"draw record {record_id} not found")
    return record


def prepare_object_draw(
    session: Session,
    *,
    actor: str,
    lead_org: str,
    agencies: Iterable[str],
    count: int,
    filters: Mapping[str, Any],
    year: int,
    seed: str | None = None,
    instance_id: int | None = None,
) -> DrawRecord:
    """Freeze the candidates and fix the seed of an object draw, before anyone draws.

    Entities at a yearly cap are left out and listed in `params["capped"]`, unless the
    justice bureau overrode the cap for the year (listed in `overrides`). `instance_id`
    (the process instance asking) is kept in the record's params.

    Raises:
        DomainRuleViolation: no plan, bad filters, or `count` out of range.
    """
    plan = require_plan(session, year)
    drawing_agencies = sorted({lead_org, *agencies})
    pool = _filtered_objects(session, filters)
    capped = capped_entities(session, [o.credit_code for o in pool], drawing_agencies, plan)
    granted = _overrides(session, year, capped)
    frozen = [
        _object_entry(o) for o in pool if o.credit_code not in capped or o.credit_code in granted
    ]
    _check_count(count, len(frozen), plan.sampling_ratio)
    record = DrawRecord(
        kind=DrawKind.OBJECTS,
        seed=_seed(seed),
        algorithm_version=draws.ALGORITHM_VERSION,
        candidates=frozen,
        candidate_hash=draws.candidate_hash(frozen),
        params={
            "lead_org": lead_org,
            "agencies": drawing_agencies,
            "count": count,
            "filters": dict(filters),
            "year": year,
            "weights": plan.weights,
            "capped": _capped_list(pool, capped, granted),
            "instance_id": instance_id,
        },
        operator=actor,
        overrides=[_override_entry(granted[c], capped[c]) for c in sorted(granted)],
    )
    session.add(record)
    session.flush()
    logger.info("object draw %s prepared by %s: %s candidates", record.id, actor, len(frozen))
    return record


def _seed(supplied: str | None) -> str:
    """The supplied seed (for a public drawing) or a fresh one from `secrets`."""
    if supplied is None:
        return draws.new_seed()
    if not 8 <= len(supplied) <= MAX_SEED_LENGTH:
        raise DomainRuleViolation(f"a supplied seed must have 8 to {MAX_SEED_LENGTH} characters")
    return supplied


def _filtered_objects(session: Session, filters: Mapping[str, Any]) -> list[InspectionObject]:
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise DomainRuleViolation(f"unknown draw filters: {', '.join(unknown)}")
    stmt = select(InspectionObject).where(InspectionObject.active.is_(True))
    columns = {
        "industries": InspectionObject.industry,
        "risk_grades": InspectionObject.risk_grade,
        "credit_grades": InspectionObject.credit_grade,
    }
    for key, column in columns.items():
        if filters.get(key):
            stmt = stmt.where(column.in_(list(filters[key])))
    if filters.get("townships"):
        stmt = stmt.where(InspectionObject.township_code.in_(_township_codes(filters["townships"])))
    if filters.get("exclude"):
        stmt = stmt.where(InspectionObject.credit_code.not_in(list(filters["exclude"])))
    return list(session.scalars(stmt.order_by(InspectionObject.credit_code)))


def _township_codes(values: Iterable[str]) -> list[str]:
    codes = []
    for value in values:
        code = township_code(value)
        if code is None:
            raise DomainRuleViolation(f"unknown township {value!r}")
        codes.append(code)
    return codes


def _overrides(session: Session, year: int, capped: Mapping[str, object]) -> dict[str, CapOverride]:
    stmt = select(CapOverride).where(
        CapOverride.year == year, CapOverride.credit_code.in_(list(capped))
    )
    return {o.credit_code: o for o in session.scalars(stmt)}


def _object_entry(obj: InspectionObject) -> dict[str, str]:
    return {
        "credit_code": obj.credit_code,
        "name": obj.name,
        "township": obj.township_code,
        "industry": obj.industry,
        "risk_grade": str(obj.risk_grade),
        "credit_grade": str(obj.credit_grade),
    }


def _capped_list(
    pool: Iterable[InspectionObject], capped: Mapping[str, list[Any]], granted: Mapping[str, Any]
) -> list[dict[str, Any]]:
    return [
        {
            "credit_code": o.credit_code,
            "name": o.name,
            "caps": [hit.as_dict() for hit in capped[o.credit_code]],
        }
        for o in pool
        if o.credit_code in capped and o.credit_code not in granted
    ]


def _override_entry(override: CapOverride, hits: Iterable[Any]) -> dict[str, Any]:
    return {
        "credit_code": override.credit_code,
        "reason": override.reason,
        "granted_by": override.granted_by,
        "granted_at": override.granted_at.isoformat(),
        "caps": [hit.as_dict() for hit in hits],
    }


def _check_count(count: int, available: int, ratio: float) -> None:
    if count < 1:
        raise DomainRuleViolation("the draw must select at least one object")
    if count > available:
        raise DomainRuleViolation(f"only {available} eligible objects, {count} requested")
    ceiling = math.ceil(available * ratio)
    if count > ceiling:
        raise DomainRuleViolation(
            f"{count} objects exceed the plan's sampling ratio {ratio} ({ceiling} at most)"
        )


def run_object_draw(session: Session, *, actor: str, record_id: int) -> DrawRecord:
    """Draw the objects of a prepared record; running it again returns the same result.

    Raises:
        NotFound: no such record. DomainRuleViolation: not an object draw.
    """
    record = get_draw_record(session, record_id)
    if record.kind != DrawKind.OBJECTS:
        raise DomainRuleViolation(f"draw record {record_id} is not an object draw")
    if record.result is None:
        record.result = _recompute(record)
        record.drawn_at = utcnow()
        session.flush()
        logger.info("object draw %s run by %s: %s", record_id, actor, record.result["objects"])
    return record


def drawn_objects(record: DrawRecord) -> list[dict[str, str]]:
    """The drawn candidates of an object draw, in draw order."""
    by_code = {c["credit_code"]: c for c in record.candidates}
    return [by_code[code] for code in (record.result or {}).get("objects", [])]


def _recompute(record: DrawRecord) -> dict[str, Any]:
    params = record.params
    if record.kind == DrawKind.OBJECTS:
        codes = draws.select_objects(
            record.seed, record.candidates, params["count"], params["weights"]
        )
        return {"objects": codes}
    return draws.select_teams(record.seed, record.candidates, params["team_size"])


def draw_inspectors(
    session: Session,
    *,
    actor: str,
    record_id: int,
    agencies: Mapping[str, str],
    inspection_date: date,
    team_size: int = MIN_TEAM_SIZE,
    seed: str | None = None,
    instance_id: int | None = None,
) -> DrawRecord:
    """Draw a team per agency (its own certified officers) for the objects of a draw.

    `agencies` maps org code to the enforcement field its certificates must cover.
    Officers unavailable or already on a team that day are not candidates; officers with
    a declared conflict against a drawn object are recused and replaced (logged).
    `instance_id` (the process instance asking) is kept in the record's params.

    Raises:
        DomainRuleViolation: object draw not run, team below 2, or too few officers.
    """
    objects = get_draw_record(session, record_id)
    if objects.kind != DrawKind.OBJECTS or objects.result is None:
        raise DomainRuleViolation(f"draw record {record_id} is not a completed object draw")
    if team_size < MIN_TEAM_SIZE:
        raise DomainRuleViolation("an inspection team needs at least 2 certified officers")
    codes = objects.result["objects"]
    frozen = {
        agency: _officer_candidates(session, agency, field_, inspection_date, codes, team_size)
        for agency, field_ in sorted(agencies.items())
    }
    record = DrawRecord(
        kind=DrawKind.INSPECTORS,
        parent_id=record_id,
        seed=_seed(seed),
        algorithm_version=draws.ALGORITHM_VERSION,
        candidates=frozen,
        candidate_hash=draws.candidate_hash(frozen),
        params={
            "inspection_date": inspection_date.isoformat(),
            "team_size": team_size,
            "instance_id": instance_id,
        },
        operator=actor,
    )
    record.result = _recompute(record)
    _check_teams(record.result, team_size, agencies)
    record.drawn_at = utcnow()
    session.add(record)
    session.flush()
    _assign(session, record, inspection_date)
    for redraw in record.result["redraws"]:
        logger.info("inspector draw %s by %s: recusal %s", record.id, actor, redraw)
    return record


def _officer_candidates(
    session: Session, agency: str, field_: str, day: date, codes: list[str], team_size: int
) -> dict[str, Any]:
    users = agency_officers(session, agency)
    busy = busy_days(session, [u.id for u in users], day, day)
    officers = []
    for user in users:
        certificate = certificate_for(user, field_, day)
        if certificate is not None and day not in busy[user.id]:
            officers.append((user, certificate.number))
    if len(officers) < team_size:
        raise DomainRuleViolation(
            f"fewer than {team_size} eligible officers of {agency} certified for "
            f"{field_} and free on {day.isoformat()} ({len(officers)} found)",
            {agency: "not enough certified officers"},
        )
    conflicts = conflicts_of(session, [u.id for u, _n in officers], codes)
    entries = [
        {"username": u.username, "certificate": number, "conflicts": conflicts[u.id]}
        for u, number in officers
    ]
    return {"field": field_, "officers": entries}


def _check_teams(result: Mapping[str, Any], team_size: int, agencies: Mapping[str, str]) -> None:
    for agency, team in result["teams"].items():
        if len(team) < team_size:
            raise DomainRuleViolation(
                f"after recusals {agency} has {len(team)} officers for {agencies[agency]}, "
                f"{team_size} needed",
                {agency: "not enough officers without a conflict of interest"},
            )


def _assign(session: Session, record: DrawRecord, day: date) -> None:
    teams: Mapping[str, list[dict[str, str]]] = (record.result or {}).get("teams", {})
    names = [m["username"] for team in teams.values() for m in team]
    stmt = select(User.username, User.id).where(User.username.in_(names))
    ids = {username: user_id for username, user_id in session.execute(stmt)}
    for name in names:
        session.add(InspectorAssignment(user_id=ids[name], day=day, draw_record_id=record.id))
    session.flush()


def verify_draw(session: Session, record_id: int) -> VerifyResult:
    """Replay a draw from its stored seed and candidates and compare with its result.

    A changed candidate list shows as a hash mismatch; a changed seed, parameter or
    result as a result mismatch.

    Raises:
        NotFound: no such record.
    """
    record = get_draw_record(session, record_id)
    reasons = []
    if draws.candidate_hash(record.candidates) != record.candidate_hash:
        reasons.append("candidate list does not match its stored hash")
    if record.algorithm_version != draws.ALGORITHM_VERSION:
        reasons.append(f"unknown algorithm version {record.algorithm_version}")
        return VerifyResult(False, None, record.result, reasons)
    try:
        expected = _recompute(record)
    except (KeyError, TypeError, ValueError) as exc:
        reasons.append(f"stored parameters cannot be replayed: {exc!r}")
        return VerifyResult(False, None, record.result, reasons)
    if record.result is None:
        reasons.append("the draw has not been run")
    elif expected != record.result:
        reasons.append("stored result differs from the result recomputed from seed and list")
    return VerifyResult(not reasons, expected, record.result, reasons)
