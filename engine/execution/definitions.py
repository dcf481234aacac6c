"""Deployed definitions as a step sees them.

Immutable facts and parsed specs of a deployed process, cached per row id and content hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.execution import catalog
from engine.execution.bundles import ParsedDefinition
from engine.models import ProcessDefinition


@dataclass(frozen=True)
class DefinitionInfo:
    spec_hash: str
    manifest: dict[str, Any]
    forms: dict[str, Any]
    process_id: str
    version: int


class DefinitionRef(Protocol):
    """Anything naming a deployed definition: an instance row, or a row of selected columns."""

    @property
    def definition_id(self) -> int: ...

    @property
    def spec_hash(self) -> str: ...


# Keyed by (row id, content hash): a row id alone could be reused after a rolled-back deploy.
_DEFINITIONS: dict[tuple[int, str], DefinitionInfo] = {}


def definition_info(session: Session, ref: DefinitionRef) -> DefinitionInfo:
    """Immutable facts of a deployed definition, cached per process (definitions never change).

    Raises:
        NotFound: the definition row is gone.
    """
    key = (ref.definition_id, ref.spec_hash)
    info = _DEFINITIONS.get(key)
    if info is None:
        row = definition_row(session, ref)
        info = DefinitionInfo(row.spec_hash, row.manifest, row.forms, row.process_id, row.version)
        _DEFINITIONS[key] = info
        catalog.get_parsed(row)
    return info


def definition_row(session: Session, ref: DefinitionRef) -> ProcessDefinition:
    row = session.get(ProcessDefinition, ref.definition_id)
    if row is None or row.spec_hash != ref.spec_hash:
        raise NotFound(f"process definition {ref.definition_id} ({ref.spec_hash[:12]}) not found")
    return row


def remember_definition(definition: ProcessDefinition) -> None:
    """Cache the facts of a definition just used to start an instance."""
    _DEFINITIONS.setdefault(
        (definition.id, definition.spec_hash),
        DefinitionInfo(
            definition.spec_hash,
            definition.manifest,
            definition.forms,
            definition.process_id,
            definition.version,
        ),
    )


def parsed_definition(session: Session, ref: DefinitionRef) -> ParsedDefinition:
    """The parsed specs of a deployed definition, from the catalog's content-hash cache."""
    parsed = catalog.cached(ref.spec_hash)
    if parsed is None:
        parsed = catalog.get_parsed(definition_row(session, ref))
    return parsed


def latest_definition(session: Session, process_id: str) -> ProcessDefinition:
    """The newest deployed version of a process.

    Raises:
        NotFound: when the process was never deployed.
    """
    definition = session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    if definition is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    return definition
