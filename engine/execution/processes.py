"""Process catalog services for web and CLI: list, start forms, deploy uploads and folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer

from engine.errors import NotFound
from engine.errors import Problem
from engine.execution import catalog
from engine.execution import uploads
from engine.execution.uploads import UploadedFile
from engine.models import ProcessDefinition
from engine.models import Role
from engine.models import User


def list_processes(session: Session) -> list[ProcessDefinition]:
    """The latest version of every deployed process, by process id."""
    latest = (
        select(ProcessDefinition.process_id, func.max(ProcessDefinition.version).label("v"))
        .group_by(ProcessDefinition.process_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(ProcessDefinition)
            .join(
                latest,
                (latest.c.process_id == ProcessDefinition.process_id)
                & (latest.c.v == ProcessDefinition.version),
            )
            .order_by(ProcessDefinition.process_id)
            .options(defer(ProcessDefinition.files))  # the BPMN texts load only when read
        )
    )


def get_process(session: Session, process_id: str) -> ProcessDefinition:
    """The latest version of one process.

    Raises:
        NotFound: when it was never deployed.
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


def may_start(user: User, definition: ProcessDefinition) -> bool:
    """Whether the process's manifest lets this user start it (admin may start any)."""
    if user.role == Role.ADMIN:
        return True
    manifest = definition.manifest
    roles = manifest.get("start_roles") or []
    org_types = manifest.get("start_org_types") or []
    role_ok = not roles or user.role in roles
    org_ok = not org_types or user.organization.type in org_types
    return bool(roles or org_types) and role_ok and org_ok


def startable_processes(session: Session, user: User) -> list[ProcessDefinition]:
    return [d for d in list_processes(session) if may_start(user, d)]


def get_start_form(session: Session, process_id: str) -> dict[str, Any] | None:
    form: dict[str, Any] | None = get_process(session, process_id).forms.get("start")
    return form


def deploy_files(
    session: Session, files: Sequence[UploadedFile], *, actor: str
) -> list[tuple[ProcessDefinition, bool]]:
    """Deploy uploaded .bpmn/.dmn files (a zip is opened first) as one deployment.

    Every executable process in the files is deployed with all the files beside it, so call
    activities and business rule tasks resolve across files. Returns each definition and
    whether it is a new version; unchanged ones are no-ops.

    Raises:
        WorkflowDefinitionError: listing file, line, element and message of each problem;
            nothing is stored when any process fails.
    """
    expanded: list[UploadedFile] = []
    for upload in files:
        is_zip = upload.name.lower().endswith(".zip") or upload.data[:4] == b"PK\x03\x04"
        expanded.extend(uploads.files_from_zip(upload) if is_zip else [upload])
    bundles = uploads.bundles_from_files(expanded)
    for bundle in bundles:
        catalog.parse_bundle(bundle)
    return [catalog.deploy(session, bundle, actor=actor) for bundle in bundles]


def warnings_of(definition: ProcessDefinition) -> list[Problem]:
    """What the checks found in a deployed definition that did not refuse it."""
    return list(catalog.get_parsed(definition).warnings)


def deploy_folders(
    session: Session, paths: list[Path], *, actor: str
) -> list[tuple[ProcessDefinition, bool]]:
    """Deploy process folders (or a workflows/ root holding them); unchanged ones are no-ops."""
    folders: list[Path] = []
    for path in paths:
        folders.extend(catalog.process_folders(path) if not any(path.glob("*.bpmn")) else [path])
    return [catalog.deploy(session, catalog.read_folder(f), actor=actor) for f in folders]
