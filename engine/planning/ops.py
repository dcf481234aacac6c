"""BPMN service-task operations of joint-inspection planning.

Each operation is `op(session, *, actor, instance_id=None, **params) -> dict` with
JSON-able parameters and result (dates as ISO strings); `instance_id` is the process
instance running the service task. The service-task runner looks them up in OPERATIONS,
whose scheduling counts working days with the county calendar (engine.deadlines.calendar);
`make_operations(is_working_day)` builds the same table with another rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.deadlines.calendar import load_calendar
from engine.errors import DomainRuleViolation
from engine.planning import drawing
from engine.planning import service
from engine.planning.scheduling import WorkingDayRule
from engine.planning.scheduling import propose_dates

Operation = Callable[..., dict[str, Any]]


def _as_date(value: object, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise DomainRuleViolation(f"{name} must be an ISO date, got {value!r}") from exc


def prepare_object_draw(
    session: Session,
    *,
    actor: str,
    lead_org: str,
    agencies: Sequence[str],
    count: int,
    filters: Mapping[str, Any] | None = None,
    year: int,
    seed: str | None = None,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """Freeze candidates and publish the seed: `{record_id, seed, candidate_hash, ...}`."""
    record = drawing.prepare_object_draw(
        session,
        actor=actor,
        lead_org=lead_org,
        agencies=agencies,
        count=int(count),
        filters=filters or {},
        year=int(year),
        seed=seed,
        instance_id=instance_id,
    )
    return {
        "record_id": record.id,
        "seed": record.seed,
        "candidate_hash": record.candidate_hash,
        "candidate_count": len(record.candidates),
        "capped": record.params["capped"],
    }


def run_object_draw(
    session: Session, *, actor: str, record_id: int, instance_id: int | None = None
) -> dict[str, Any]:
    """Run a prepared object draw: `{record_id, objects: [{credit_code, name, ...}]}`."""
    record = drawing.run_object_draw(session, actor=actor, record_id=int(record_id))
    keys = ("credit_code", "name", "township", "industry")
    objects = [{k: entry[k] for k in keys} for entry in drawing.drawn_objects(record)]
    return {"record_id": record.id, "objects": objects}


def draw_inspectors(
    session: Session,
    *,
    actor: str,
    record_id: int,
    agencies: Mapping[str, str],
    inspection_date: str | date,
    team_size: int = drawing.MIN_TEAM_SIZE,
    seed: str | None = None,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """Draw one team per agency: `{record_id, teams: {org: [...]}, redraws: [...]}`."""
    record = drawing.draw_inspectors(
        session,
        actor=actor,
        record_id=int(record_id),
        agencies=dict(agencies),
        inspection_date=_as_date(inspection_date, "inspection_date"),
        team_size=int(team_size),
        seed=seed,
        instance_id=instance_id,
    )
    result = record.result or {}
    return {"record_id": record.id, "teams": result["teams"], "redraws": result["redraws"]}


def propose_visit_dates(
    session: Session,
    *,
    actor: str,
    agencies: Mapping[str, str | None] | Sequence[str],
    objects: Iterable[str | Mapping[str, Any]],
    window_start: str | date,
    window_end: str | date,
    teams: Mapping[str, Sequence[str]] | None = None,
    is_working_day: WorkingDayRule | None = None,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """Dates all teams are free, 30-day warnings and merge candidates.

    `agencies` is a dict org code -> enforcement field, or a list of org codes (any
    field); `objects` are credit codes or the object dicts of run_object_draw. Working
    days follow the county calendar unless `is_working_day` is given.
    """
    fields = dict(agencies) if isinstance(agencies, Mapping) else dict.fromkeys(agencies)
    codes = [o if isinstance(o, str) else str(o["credit_code"]) for o in objects]
    proposal = propose_dates(
        session,
        agencies=fields,
        credit_codes=codes,
        window_start=_as_date(window_start, "window_start"),
        window_end=_as_date(window_end, "window_end"),
        teams=teams,
        is_working_day=is_working_day or load_calendar(session).is_working_day,
    )
    return {
        "dates": [d.isoformat() for d in proposal.dates],
        "merge_candidates": proposal.merge_candidates,
        "warnings": proposal.warnings,
    }


def record_inspection(
    session: Session,
    *,
    actor: str,
    credit_codes: Sequence[str],
    agencies: Sequence[str],
    day: str | date,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """Add the visit to the inspection history (counts toward caps): `{recorded: N}`."""
    added = service.record_inspection(
        session,
        credit_codes=credit_codes,
        agencies=agencies,
        day=_as_date(day, "day"),
        instance_id=instance_id,
    )
    return {"recorded": added}


def make_operations(is_working_day: WorkingDayRule | None = None) -> dict[str, Operation]:
    """The operations table; scheduling uses `is_working_day`, else the county calendar."""
    return {
        "prepare_object_draw": prepare_object_draw,
        "run_object_draw": run_object_draw,
        "draw_inspectors": draw_inspectors,
        "propose_visit_dates": functools.partial(
            propose_visit_dates, is_working_day=is_working_day
        ),
        "record_inspection": record_inspection,
    }


OPERATIONS: dict[str, Operation] = make_operations()
