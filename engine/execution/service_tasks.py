"""Operations behind BPMN service tasks: the only place BPMN reaches the database.

Each operation is a plain function `(session, *, actor, **params) -> JSON-able dict`,
registered by name in OPERATIONS. `start_linked_process` is handled by the runner itself,
because starting an instance is a runner step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import ScriptFailed

Operation = Callable[..., dict[str, Any]]


def _planning_operations() -> dict[str, Operation]:
    from engine.planning.ops import OPERATIONS

    return dict(OPERATIONS)


def operations() -> dict[str, Operation]:
    """Every registered service-task operation by name."""
    return _planning_operations()


def call(
    session: Session, name: str, params: dict[str, Any], *, actor: str, instance_id: int
) -> dict[str, Any]:
    """Run one service operation.

    Raises:
        ScriptFailed: for an unknown operation.
    """
    operation = operations().get(name)
    if operation is None:
        raise ScriptFailed(f"unknown service operation {name!r}")
    return operation(session, actor=actor, instance_id=instance_id, **params)
