"""Task routing: a BPMN lane becomes a role plus an organization resolved from data.

The convention (docs/conventions.md): process.json maps each lane id to
`{"role": ..., "org": ...}` where org is `=data_key[.sub]`, `type:<org_type>` or a literal
organization code. A task in no lane goes to the user who started the instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Organization


@dataclass(frozen=True)
class Route:
    role: str | None
    org_code: str | None
    assignee_id: int | None = None


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def resolve_org(session: Session, ref: str | None, data: Mapping[str, Any]) -> str | None:
    """The organization code a lane's `org` reference points at, or None."""
    if not ref:
        return None
    if ref.startswith("="):
        value = _lookup(data, ref[1:])
        return str(value) if value else None
    if ref.startswith("type:"):
        return session.scalar(
            select(Organization.code)
            .where(Organization.type == ref.removeprefix("type:"), Organization.active.is_(True))
            .order_by(Organization.code)
            .limit(1)
        )
    return ref


def route_task(
    session: Session,
    manifest: Mapping[str, Any],
    lane_id: str | None,
    data: Mapping[str, Any],
    *,
    initiator_id: int | None,
    initiator_org: str | None,
) -> Route:
    """Where a task in `lane_id` goes."""
    lane = manifest.get("lanes", {}).get(lane_id) if lane_id else None
    if lane is None:
        return Route(role=None, org_code=initiator_org, assignee_id=initiator_id)
    return Route(role=lane.get("role"), org_code=resolve_org(session, lane.get("org"), data))


def party_orgs(manifest: Mapping[str, Any], data: Mapping[str, Any]) -> set[str]:
    """Organizations named in the data keys the manifest lists as parties."""
    found: set[str] = set()
    for key in manifest.get("party_fields", []):
        value = _lookup(data, key)
        if isinstance(value, str) and value:
            found.add(value)
        elif isinstance(value, Mapping):
            found.update(str(k) for k in value)
        elif isinstance(value, list):
            found.update(str(v) for v in value if isinstance(v, str))
    return found
