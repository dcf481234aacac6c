"""SCRIPT_API: every function a BPMN script or condition may call, plus the safe builtins.

Pure functions only. Anything that touches the database or the network is a service task
(engine/service_tasks.py), never a script helper.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from engine.deadlines.rules import add_months as add_months_to_date

LEGAL_TZ = ZoneInfo("Asia/Shanghai")

SAFE_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "enumerate",
    "float",
    "int",
    "isinstance",
    "len",
    "list",
    "max",
    "min",
    "range",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "True",
    "False",
    "None",
    "ValueError",
)

SAFE_BUILTINS: MappingProxyType[str, Any] = MappingProxyType(
    {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
)


_STEP_NOW: ContextVar[datetime | None] = ContextVar("xietong_step_now", default=None)


@contextmanager
def step_time(now: datetime | None) -> Iterator[None]:
    """Make `now_utc()`/`today_local()` answer the step's time while BPMN code runs.

    A step's stamps then agree with the time the engine records for the step (and tests
    with a controlled clock get the stamps they expect).
    """
    token = _STEP_NOW.set(now)
    try:
        yield
    finally:
        _STEP_NOW.reset(token)


def _now() -> datetime:
    return _STEP_NOW.get() or datetime.now(UTC)


def now_utc() -> str:
    """The step's instant as an aware ISO 8601 string in UTC (timer expressions accept it)."""
    return _now().astimezone(UTC).isoformat()


def today_local() -> str:
    """The step's date in legal time (Asia/Shanghai), ISO format."""
    return _now().astimezone(LEGAL_TZ).date().isoformat()


def months_after(timestamp: str, months: int) -> str:
    """The same legal-time date and hour `months` later (month-end clamped), as ISO UTC.

    For timers that run from a recorded moment, e.g. a follow-up 3 months after a transfer.
    Raises ValueError for a timestamp that is not an aware ISO 8601 string.
    """
    moment = datetime.fromisoformat(str(timestamp))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {timestamp!r} has no time zone")
    local = moment.astimezone(LEGAL_TZ)
    day = add_months_to_date(local.date(), int(months))
    shifted = datetime.combine(day, local.timetz())
    return shifted.astimezone(UTC).isoformat()


SCRIPT_API: MappingProxyType[str, Any] = MappingProxyType(
    {"now_utc": now_utc, "today_local": today_local, "months_after": months_after}
)
