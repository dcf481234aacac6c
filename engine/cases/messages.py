"""Messages and signals from other systems: which waiting instances they reach, one step each.

A message reaches the instances whose subscription's correlation values (rows of
`message_correlation`, looked up by message name, property and value) all equal the values the
sender gives; a subscription that holds no values takes a message whose correlation
properties it declares (the first message correlates it), and one that declares none takes
only messages without correlation values. More than one instance is refused as ambiguous
unless the sender asks for all of them. A signal reaches every instance waiting on it.
The caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import AmbiguousMessage
from engine.errors import InvalidTaskData
from engine.errors import NotFound
from engine.execution import events
from engine.execution import runner
from engine.execution.step import Step
from engine.execution.waits import correlation_value
from engine.models import HALTED_STATUSES
from engine.models import AuditEvent
from engine.models import MessageCorrelation
from engine.models import MessageSubscription
from engine.models import ProcessInstance
from engine.models import User
from engine.people import access
from engine.settings import Settings
from engine.settings import load_settings


@dataclass(frozen=True)
class Given:
    """One correlation value a sender gives: (key or None for any key, property, value)."""

    key: str | None
    prop: str
    value: Any

    @property
    def text(self) -> str:
        return correlation_value(self.value)


def parse_correlation(correlation: Mapping[str, Any]) -> list[Given]:
    """`{property: value}` or `{key: {property: value}}` as a list of given values.

    Raises:
        InvalidTaskData: the two forms are mixed, or one property gets two values.
    """
    nested = [isinstance(v, dict) for v in correlation.values()]
    if any(nested) and not all(nested):
        raise InvalidTaskData(
            "correlation mixes {property: value} and {key: {property: value}}",
            {"correlation": "关联属性格式不正确"},
        )
    given = (
        [
            Given(key, prop, value)
            for key, props in correlation.items()
            for prop, value in props.items()
        ]
        if any(nested)
        else [Given(None, prop, value) for prop, value in correlation.items()]
    )
    values: dict[str, str] = {}
    for item in given:
        if values.setdefault(item.prop, item.text) != item.text:
            raise InvalidTaskData(
                f"correlation gives two values for {item.prop}",
                {f"correlation.{item.prop}": "同一关联属性给出了两个不同的值"},
            )
    return given


def _visible(session: Session, user: User | None) -> ColumnElement[bool]:
    """Subscriptions of instances the user may see (all of them without a user), leaving out
    suspended and terminated ones: a suspended case takes no message or signal until resumed."""
    halted = select(ProcessInstance.id).where(ProcessInstance.status.in_(HALTED_STATUSES))
    live = ~MessageSubscription.instance_id.in_(halted)
    if user is None:
        return live
    visible = access.visible_instances(session, user).with_only_columns(ProcessInstance.id)
    return and_(live, MessageSubscription.instance_id.in_(visible))


def _candidates(
    session: Session, name: str, given: list[Given], user: User | None
) -> dict[int, tuple[int, list[str]]]:
    """Subscription id → (instance id, declared properties), of those holding one of the given
    values or none at all.

    Plain rows, not ORM objects: the steps that follow rewrite these subscriptions.
    """
    row = MessageCorrelation
    clauses = [
        and_(
            row.property == g.prop, row.value == g.text, *([row.key_name == g.key] if g.key else [])
        )
        for g in given
    ]
    holding = select(row.subscription_id).where(
        row.message_name == name, or_(*clauses) if clauses else false()
    )
    holds_nothing = ~exists().where(row.subscription_id == MessageSubscription.id)
    query = select(
        MessageSubscription.id, MessageSubscription.instance_id, MessageSubscription.properties
    ).where(
        MessageSubscription.kind == "message",
        MessageSubscription.message_name == name,
        or_(MessageSubscription.id.in_(holding), holds_nothing),
    )
    rows = session.execute(query.where(_visible(session, user)))
    return {row[0]: (row[1], list(row[2] or [])) for row in rows}


def _matching(
    session: Session, candidates: dict[int, tuple[int, list[str]]], given: list[Given]
) -> set[int]:
    """Instance ids of the candidates whose held values the sender all gives, and which hold
    or at least declare every property the sender gives (a catch event without correlation
    takes only messages without correlation values: never a case number it cannot check).
    """
    if not candidates:
        return set()
    held: dict[int, list[tuple[str, str, str]]] = {c: [] for c in candidates}
    rows = session.execute(
        select(
            MessageCorrelation.subscription_id,
            MessageCorrelation.key_name,
            MessageCorrelation.property,
            MessageCorrelation.value,
        ).where(MessageCorrelation.subscription_id.in_(list(held)))
    )
    for subscription_id, key, prop, value in rows:
        held[subscription_id].append((key, prop, value))

    def gives(key: str, prop: str, value: str) -> bool:
        return any(g.prop == prop and g.text == value and g.key in (None, key) for g in given)

    def knows(subscription: int, declared: list[str]) -> bool:
        props = set(declared) | {prop for _key, prop, _value in held[subscription]}
        return all(g.prop in props for g in given)

    return {
        instance_id
        for c, (instance_id, declared) in candidates.items()
        if all(gives(*value) for value in held[c]) and knows(c, declared)
    }


def _missing_properties(
    session: Session, name: str, given: list[Given], user: User | None
) -> list[str]:
    """Correlation properties waiting instances hold for this message that the sender omitted."""
    query = (
        select(MessageCorrelation.property)
        .join(MessageSubscription, MessageSubscription.id == MessageCorrelation.subscription_id)
        .where(
            MessageCorrelation.message_name == name,
            MessageCorrelation.property.not_in([g.prop for g in given]),
        )
        .distinct()
    )
    return sorted(session.scalars(query.where(_visible(session, user))))


def deliver_message(
    session: Session,
    *,
    name: str,
    correlation: Mapping[str, Any],
    payload: Mapping[str, Any],
    actor: str,
    user: User | None = None,
    deliver_all: bool = False,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Deliver a message to the one instance waiting for it with these correlation values.

    With a `user` (an API caller), only instances that user may see are considered, so a
    token cannot reach, or learn the ids of, cases outside its organization's view.

    Raises:
        InvalidTaskData: the message lacks a correlation property the waiting instances hold
            (field `correlation.<property>`), or its payload contradicts its correlation.
        NotFound: no (visible) instance waits for this message with these values.
        AmbiguousMessage: several instances match and `deliver_all` is false.
    """
    given = parse_correlation(correlation)
    matched = _matching(session, _candidates(session, name, given, user), given)
    instance_ids = sorted(matched)
    if not instance_ids:
        missing = _missing_properties(session, name, given, user)
        if missing:
            raise InvalidTaskData(
                f"message {name!r} lacks correlation properties {', '.join(missing)}",
                {f"correlation.{prop}": "缺少该关联属性的值" for prop in missing},
            )
        raise NotFound(f"no instance waits for message {name!r} with these correlation values")
    if len(instance_ids) > 1 and not deliver_all:
        raise AmbiguousMessage(
            f"message {name!r} matches {len(instance_ids)} instances", len(instance_ids)
        )
    values = {g.prop: g.value for g in given}
    for instance_id in instance_ids:
        step = _open(session, instance_id, actor, settings, now)
        events.deliver_message(step, name, payload, values)
        runner.run_and_save(step)
    return instance_ids


def deliver_signal(
    session: Session,
    *,
    name: str,
    payload: Mapping[str, Any],
    actor: str,
    user: User | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Broadcast a signal to every (visible) instance waiting on it; returns their ids.

    Raises:
        NotFound: no (visible) instance waits for this signal.
    """
    query = (
        select(MessageSubscription.instance_id)
        .where(MessageSubscription.kind == "signal", MessageSubscription.message_name == name)
        .distinct()
    )
    instance_ids = sorted(session.scalars(query.where(_visible(session, user))))
    if not instance_ids:
        raise NotFound(f"no instance waits for signal {name!r}")
    for instance_id in instance_ids:
        step = _open(session, instance_id, actor, settings, now)
        events.deliver_signal(step, name, payload)
        runner.run_and_save(step)
    return instance_ids


def failed_now(session: Session, instance_ids: list[int]) -> list[int]:
    """Those of the instances whose last step failed: their newest audit row is an incident."""
    if not instance_ids:
        return []
    newest = (
        select(func.max(AuditEvent.id))
        .where(AuditEvent.instance_id.in_(instance_ids))
        .group_by(AuditEvent.instance_id)
    )
    failed = select(AuditEvent.instance_id).where(
        AuditEvent.id.in_(newest), AuditEvent.kind == "incident"
    )
    return sorted(session.scalars(failed))


def _open(
    session: Session,
    instance_id: int,
    actor: str,
    settings: Settings | None,
    now: datetime | None,
) -> Step:
    instance = runner.lock_instance(session, instance_id)
    return runner.open_step(
        session,
        instance,
        settings=settings or load_settings(),
        actor=actor,
        now=now or datetime.now(UTC),
    )
