"""The audit log's hash chain: the one way audit rows are written, and its verification.

Each row of an instance carries the SHA-256 of its predecessor (`prev_hash`, None for the
first) and its own `row_hash`, the SHA-256 of a canonical JSON of its columns plus
`prev_hash`. Changing, deleting or reordering a row in the database breaks the chain at that
row, and `verify` finds it. Removing the newest rows of an instance leaves a valid shorter
chain: on PostgreSQL a trigger refuses DELETE (engine.models).

Writers hold the instance's row lock (steps do; the others take it, see `lock_chain`) so two
transactions never append to one chain at once. Nothing here commits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import cast

from sqlalchemy import Table
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import AuditEvent
from engine.models import ProcessInstance

AUDIT_TABLE = cast(Table, AuditEvent.__table__)
CHAIN_VERSION = 1
HASHED_COLUMNS = (
    "instance_id",
    "task_guid",
    "bpmn_id",
    "kind",
    "actor",
    "at",
    "data_before",
    "data_after",
    "detail",
)


def jsonable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The value as the JSON column will give it back (so the hash is over what is stored)."""
    if value is None:
        return None
    result: dict[str, Any] = json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return result


def _moment(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in an audit row")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def row_hash(row: Mapping[Any, Any], prev_hash: str | None) -> str:
    """SHA-256 hex over the canonical JSON of the row's columns and its predecessor's hash."""
    canonical = {name: row.get(name) for name in HASHED_COLUMNS}
    canonical["at"] = _moment(row["at"])
    canonical["prev_hash"] = prev_hash
    canonical["v"] = CHAIN_VERSION
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def event_row(
    *,
    instance_id: int | None,
    kind: str,
    actor: str,
    at: datetime,
    task_guid: str | None = None,
    bpmn_id: str | None = None,
    data_before: Mapping[str, Any] | None = None,
    data_after: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit row to append, its JSON values normalised as they will be stored."""
    return {
        "instance_id": instance_id,
        "task_guid": task_guid,
        "bpmn_id": bpmn_id,
        "kind": kind,
        "actor": actor,
        "at": at,
        "data_before": jsonable(data_before),
        "data_after": jsonable(data_after),
        "detail": jsonable(detail),
    }


def last_hash(session: Session, instance_id: int | None) -> str | None:
    """The row hash of the instance's newest audit row (one indexed SELECT)."""
    owner = (
        AUDIT_TABLE.c.instance_id.is_(None)
        if instance_id is None
        else AUDIT_TABLE.c.instance_id == instance_id
    )
    stmt = select(AUDIT_TABLE.c.row_hash).where(owner).order_by(AUDIT_TABLE.c.id.desc()).limit(1)
    found: str | None = session.execute(stmt).scalar()
    return found


def lock_chain(session: Session, instance_id: int) -> None:
    """Take the instance's row lock, which every writer of its chain holds while appending.

    Steps already hold it; writers outside a step (claims, confidential reads) call this
    before `append_events`. SQLite serialises every write transaction anyway.
    """
    session.execute(
        select(ProcessInstance.id).where(ProcessInstance.id == instance_id).with_for_update()
    )


def append_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Chain and insert audit rows (from `event_row`) in order, in one INSERT.

    One SELECT of the last hash per instance among the rows; the caller holds the lock.
    """
    if not rows:
        return
    heads: dict[int | None, str | None] = {}
    for row in rows:
        owner = row["instance_id"]
        if owner not in heads:
            heads[owner] = last_hash(session, owner)
        row["prev_hash"] = heads[owner]
        row["row_hash"] = heads[owner] = row_hash(row, row["prev_hash"])
    session.execute(insert(AUDIT_TABLE), rows)


@dataclass(frozen=True)
class ChainBreak:
    """The first row where an instance's chain does not hold."""

    event_id: int
    instance_id: int | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    rows: int
    instances: int
    broken: ChainBreak | None


def _statement(instance_id: int | None) -> Any:
    stmt = select(AUDIT_TABLE).order_by(AUDIT_TABLE.c.instance_id, AUDIT_TABLE.c.id)
    if instance_id is not None:
        stmt = stmt.where(AUDIT_TABLE.c.instance_id == instance_id)
    return stmt.execution_options(yield_per=1000)


def _problem(row: Mapping[Any, Any], expected_prev: str | None) -> str | None:
    if row["prev_hash"] != expected_prev:
        return "prev_hash does not match the previous row (a row was removed or reordered)"
    if row["row_hash"] != row_hash(row, row["prev_hash"]):
        return "row_hash does not match the row's content (the row was changed)"
    return None


def verify(session: Session, instance_id: int | None = None) -> ChainReport:
    """Walk every chain (or one instance's) and report the first row that breaks it."""
    count = 0
    owners: set[int | None] = set()
    previous: str | None = None
    with session.execute(_statement(instance_id)) as result:
        for row in result.mappings():
            owner = row["instance_id"]
            if owner not in owners:
                owners.add(owner)
                previous = None
            count += 1
            problem = _problem(row, previous)
            if problem is not None:
                return ChainReport(count, len(owners), ChainBreak(row["id"], owner, problem))
            previous = row["row_hash"]
    return ChainReport(count, len(owners), None)
