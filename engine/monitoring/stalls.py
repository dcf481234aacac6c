"""Stalled flags: an active instance made no progress for longer than what it waits on allows."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.errors import NotFound
from engine.execution import definitions
from engine.models import HumanTask
from engine.models import MessageSubscription
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import TimerProjection
from engine.monitoring import notifications
from engine.monitoring.escalation import notify_new_flag
from engine.monitoring.models import ACTIVE
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.models import Level
from engine.settings import Settings

logger = logging.getLogger(__name__)


def _hours_text(hours: float) -> str:
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}"


@dataclass(frozen=True)
class Wait:
    """One thing an instance waits on, with its stall threshold."""

    bpmn_id: str | None
    text: str
    hours: float
    task_id: int | None = None


def _hours(value: object, where: str) -> float:
    try:
        hours = float(str(value))
    except ValueError:
        raise ValueError(f"stall threshold {where} is not a number: {value!r}") from None
    if hours <= 0:
        raise ValueError(f"stall threshold {where} must be positive, got {value!r}")
    return hours


def explicit_stall_hours(
    bpmn_id: str | None, properties: Mapping[str, str], manifest: Mapping[str, Any]
) -> float | None:
    """The threshold the element itself or process.json `stall.elements` sets, in hours.

    Raises:
        ValueError: a threshold that is not a positive number.
    """
    if properties.get("stall_hours"):
        return _hours(properties["stall_hours"], f"of {bpmn_id}")
    elements = (manifest.get("stall") or {}).get("elements") or {}
    if bpmn_id in elements:
        return _hours(elements[bpmn_id], f"stall.elements.{bpmn_id}")
    return None


def stall_hours(
    bpmn_id: str | None,
    properties: Mapping[str, str],
    manifest: Mapping[str, Any],
    settings: Settings,
) -> float:
    """The stall threshold of one waiting element, in hours (see the module docstring).

    Raises:
        ValueError: a threshold that is not a positive number.
    """
    explicit = explicit_stall_hours(bpmn_id, properties, manifest)
    if explicit is not None:
        return explicit
    default = (manifest.get("stall") or {}).get("default_hours")
    if default is not None:
        return _hours(default, "stall.default_hours")
    return float(settings.default_stall_hours)


@dataclass(frozen=True)
class _Definition:
    """What stall detection reads from a deployed definition."""

    elements: Mapping[str, Any]
    manifest: Mapping[str, Any]

    def properties(self, bpmn_id: str | None) -> dict[str, str]:
        info = self.elements.get(bpmn_id or "")
        return dict(info.properties) if info else {}

    def name(self, bpmn_id: str | None, fallback: str) -> str:
        info = self.elements.get(bpmn_id or "")
        return str(info.name) if info and info.name else fallback


def waits_of(
    session: Session, row: Any, tasks: list[tuple[int, str, str]], settings: Settings
) -> list[Wait]:
    """What an instance (a row with id, definition, waits) waits on, each with its threshold."""
    spec = _Definition(
        definitions.parsed_definition(session, row).elements,
        definitions.definition_info(session, row).manifest,
    )
    found = [
        Wait(
            bpmn_id,
            f"「{name}」",
            stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest, settings),
            task_id,
        )
        for task_id, bpmn_id, name in tasks
    ]
    waits = row.waits or {}
    for message in waits.get("messages", []):
        bpmn_id = message.get("bpmn_id")
        hours = stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest, settings)
        found.append(Wait(bpmn_id, spec.name(bpmn_id, f"等待消息「{message.get('name')}」"), hours))
    for signal in waits.get("signals", []):
        bpmn_id = signal.get("bpmn_id")
        hours = stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest, settings)
        found.append(Wait(bpmn_id, spec.name(bpmn_id, f"等待信号「{signal.get('name')}」"), hours))
    for timer in waits.get("timers", []):
        bpmn_id = timer.get("bpmn_id")
        hours_or_none = explicit_stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest)
        if hours_or_none is not None:
            found.append(Wait(bpmn_id, spec.name(bpmn_id, "等待定时"), hours_or_none))
    if not found and not waits.get("timers"):
        found.append(Wait(None, "案件", stall_hours(None, {}, spec.manifest, settings)))
    return found


def stall_reason(wait: Wait) -> str:
    """Chinese text of a stalled flag, e.g. 等待公安机关回执已超过 48 小时未有进展."""
    return f"{wait.text}已超过 {_hours_text(wait.hours)} 小时未有进展"


@dataclass
class _Thresholds:
    """Per definition: the explicit thresholds by hours, with their element ids, and the default."""

    explicit: dict[int, dict[float, list[str]]] = field(default_factory=dict)
    default: dict[int, float] = field(default_factory=dict)
    unreadable: list[int] = field(default_factory=list)


def _read_thresholds(session: Session, settings: Settings) -> _Thresholds:
    found = _Thresholds()
    refs = session.execute(
        select(ProcessDefinition.id.label("definition_id"), ProcessDefinition.spec_hash)
    ).all()
    for ref in refs:
        try:
            spec = _Definition(
                definitions.parsed_definition(session, ref).elements,
                definitions.definition_info(session, ref).manifest,
            )
            named = set(spec.elements) | set(
                (spec.manifest.get("stall") or {}).get("elements") or {}
            )
            explicit: dict[float, list[str]] = {}
            for bpmn_id in sorted(named):
                hours = explicit_stall_hours(bpmn_id, spec.properties(bpmn_id), spec.manifest)
                if hours is not None:
                    explicit.setdefault(hours, []).append(bpmn_id)
            found.default[ref.definition_id] = stall_hours(None, {}, spec.manifest, settings)
            found.explicit[ref.definition_id] = explicit
        except (ValueError, NotFound):
            logger.exception("stall thresholds of definition %s cannot be read", ref.definition_id)
            found.unreadable.append(ref.definition_id)
    return found


def _idle(hours: float, now: datetime) -> ColumnElement[bool]:
    return ProcessInstance.last_progress_at <= now - timedelta(hours=hours)


def _past_threshold(
    bpmn_id: Any, t: _Thresholds, now: datetime, *, with_default: bool
) -> ColumnElement[bool]:
    """The waiting element's threshold has passed: explicit ones, else (tasks) the default."""
    terms = []
    for definition_id, by_hours in t.explicit.items():
        mine = ProcessInstance.definition_id == definition_id
        terms += [and_(mine, bpmn_id.in_(ids), _idle(h, now)) for h, ids in by_hours.items()]
        if with_default:
            named = [i for ids in by_hours.values() for i in ids]
            other = bpmn_id.not_in(named) if named else true()
            terms.append(and_(mine, other, _idle(t.default[definition_id], now)))
    return or_(false(), *terms)


def _due_clause(session: Session, now: datetime, settings: Settings) -> ColumnElement[bool]:
    """Instances past the threshold of at least one thing they wait on (see the module doc).

    An instance is stalled once it is idle past its tightest wait, i.e. past any one of them;
    so each kind of wait is one EXISTS over its projection table.
    """
    t = _read_thresholds(session, settings)
    of_instance = HumanTask.instance_id == ProcessInstance.id
    task_open = and_(of_instance, HumanTask.status == TaskStatus.OPEN)
    message = MessageSubscription.instance_id == ProcessInstance.id
    timer = TimerProjection.instance_id == ProcessInstance.id
    waiting_on_nothing = and_(
        ~exists().where(task_open), ~exists().where(message), ~exists().where(timer)
    )
    default_terms = [
        and_(ProcessInstance.definition_id == d, _idle(h, now)) for d, h in t.default.items()
    ]
    lowest = min(
        [*t.default.values(), *(h for by_hours in t.explicit.values() for h in by_hours)],
        default=0.0,
    )
    # The index range on (status, last_progress_at) first; t.unreadable needs no threshold.
    if t.unreadable:
        lowest = 0.0
    return and_(
        _idle(lowest, now),
        or_(
            exists().where(
                task_open, _past_threshold(HumanTask.bpmn_id, t, now, with_default=True)
            ),
            exists().where(
                message, _past_threshold(MessageSubscription.bpmn_id, t, now, with_default=True)
            ),
            exists().where(
                timer, _past_threshold(TimerProjection.bpmn_id, t, now, with_default=False)
            ),
            and_(waiting_on_nothing, or_(false(), *default_terms)),
            ProcessInstance.definition_id.in_(t.unreadable),
        ),
    )


def _stall_candidates(
    session: Session, idle: ColumnElement[bool], *, after: int, limit: int
) -> list[Any]:
    """The next batch of active, unflagged instances idle long enough to be stalled, by id."""
    open_stall = exists().where(
        Flag.instance_id == ProcessInstance.id,
        Flag.kind == FlagKind.STALLED,
        Flag.cleared_at.is_(None),
    )
    return list(
        session.execute(
            select(
                ProcessInstance.id,
                ProcessInstance.definition_id,
                ProcessInstance.spec_hash,
                ProcessInstance.last_progress_at,
                ProcessInstance.waits,
            )
            .where(
                ProcessInstance.status.in_(ACTIVE), idle, ~open_stall, ProcessInstance.id > after
            )
            .order_by(ProcessInstance.id)
            .limit(limit)
        )
    )


def _open_tasks(session: Session, instance_ids: list[int]) -> dict[int, list[tuple[int, str, str]]]:
    """Open tasks of one batch of instances (at most a batch of ids in the IN list)."""
    found: dict[int, list[tuple[int, str, str]]] = {}
    if not instance_ids:
        return found
    rows = session.execute(
        select(HumanTask.instance_id, HumanTask.id, HumanTask.bpmn_id, HumanTask.name)
        .where(HumanTask.status == TaskStatus.OPEN, HumanTask.instance_id.in_(instance_ids))
        .order_by(HumanTask.id)
    )
    for instance_id, task_id, bpmn_id, name in rows:
        found.setdefault(instance_id, []).append((task_id, bpmn_id, name))
    return found


def _raise_stall_flag(session: Session, row: Any, wait: Wait, now: datetime) -> bool:
    still = session.scalar(
        select(ProcessInstance.id).where(
            ProcessInstance.id == row.id,
            ProcessInstance.status.in_(ACTIVE),
            ProcessInstance.last_progress_at == row.last_progress_at,
        )
    )
    if still is None:
        return False  # it progressed meanwhile
    since: datetime = row.last_progress_at
    flag = {
        "instance_id": row.id,
        "task_id": wait.task_id,
        "kind": FlagKind.STALLED,
        "reason": stall_reason(wait),
        "since": since,
        "raised_at": now,
        "level": Level.HANDLER,
        "dedupe_key": f"{FlagKind.STALLED}:{row.id}:{since.astimezone(UTC).isoformat()}",
    }
    new_ids = notifications.insert_new(session, Flag, [flag], ["dedupe_key"])
    if new_ids:
        notify_new_flag(session, new_ids[0], now)
    return bool(new_ids)


def _due_wait(
    session: Session, row: Any, tasks: list[tuple[int, str, str]], now: datetime, settings: Settings
) -> Wait | None:
    """The wait whose threshold the instance is past (the tightest), or None."""
    waits = waits_of(session, row, tasks, settings)
    if not waits:
        return None
    wait = min(waits, key=lambda w: w.hours)
    return wait if now >= row.last_progress_at + timedelta(hours=wait.hours) else None


def _flag_batch(session: Session, rows: list[Any], now: datetime, settings: Settings) -> int:
    """Raise the flags one batch of candidates is due for, each in its own savepoint."""
    tasks = _open_tasks(session, [row.id for row in rows])
    due: list[tuple[Any, Wait]] = []
    for row in rows:
        try:
            wait = _due_wait(session, row, tasks.get(row.id, []), now, settings)
        except Exception:
            logger.exception("checking instance %s for a stall failed", row.id)
            continue
        if wait is not None:
            due.append((row, wait))
    raised = 0
    for row, wait in due:
        try:
            with session.begin_nested():
                raised += _raise_stall_flag(session, row, wait, now)
        except Exception:
            logger.exception("raising a stalled flag failed for instance %s", row.id)
    return raised


def update_stall_flags(factory: sessionmaker[Session], now: datetime, settings: Settings) -> int:
    """Raise a stalled flag on every active instance idle past its threshold; returns how many.

    Reads only instances past the threshold of something they wait on, a batch at a time.
    """
    raised, after = 0, 0
    while True:
        with factory.begin() as session:
            idle = _due_clause(session, now, settings)
            rows = _stall_candidates(session, idle, after=after, limit=settings.job_batch_size)
            raised += _flag_batch(session, rows, now, settings)
        if len(rows) < settings.job_batch_size:
            return raised
        after = rows[-1].id
