"""Need-to-know readers: the access list of a confidential instance as queryable rows.

A confidential process names the data key of its access list in process.json
(`"reader_field": "access_list"`, a list of usernames). Every step rewrites the instance's
InstanceReader rows from that key, so `engine.people.access` can grant the listed users sight
of the instance in SQL. Nothing here decides visibility; access.py does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import InstanceReader
from engine.models import ProcessInstance

USERNAME_LENGTH = 80


def listed_readers(manifest: Mapping[str, Any], data: Mapping[str, Any]) -> set[str]:
    """The usernames the instance's data names in the manifest's reader field."""
    key = manifest.get("reader_field")
    value = data.get(key) if key else None
    if not isinstance(value, list):
        return set()
    return {
        v.strip() for v in value if isinstance(v, str) and 0 < len(v.strip()) <= USERNAME_LENGTH
    }


def sync_readers(
    session: Session,
    instance: ProcessInstance,
    manifest: Mapping[str, Any],
    data: Mapping[str, Any],
) -> None:
    """Make the instance's reader rows equal the access list in its data (confidential only)."""
    if not instance.confidential or not manifest.get("reader_field"):
        return
    wanted = listed_readers(manifest, data)
    stored = set(
        session.scalars(
            select(InstanceReader.username).where(InstanceReader.instance_id == instance.id)
        )
    )
    gone = stored - wanted
    if gone:
        session.execute(
            delete(InstanceReader).where(
                InstanceReader.instance_id == instance.id, InstanceReader.username.in_(gone)
            )
        )
    session.add_all(
        InstanceReader(instance_id=instance.id, username=name) for name in sorted(wanted - stored)
    )
