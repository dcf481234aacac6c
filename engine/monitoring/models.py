"""Monitoring tables and their kinds: flags (yellow, red, stalled) and escalation levels."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from enum import StrEnum

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from engine.db import Base
from engine.models import InstanceStatus
from engine.models import UTCDateTime


class FlagKind(StrEnum):
    YELLOW = "yellow"
    RED = "red"
    STALLED = "stalled"


class Level(IntEnum):
    HANDLER = 0
    HEAD = 1
    COORDINATOR = 2


ACTIVE = (InstanceStatus.RUNNING, InstanceStatus.WAITING)


FINISHED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED, InstanceStatus.TERMINATED)

# Instances no flag job raises flags on: finished ones and suspended ones (挂起).
NOT_FLAGGED = (*FINISHED, InstanceStatus.SUSPENDED)


class Flag(Base):
    """A yellow, red or stalled mark on an instance (and its task), open until cleared."""

    __tablename__ = "flag"
    __table_args__ = (
        Index("ix_flag_open", "cleared_at", "kind"),
        Index("ix_flag_ladder", "cleared_at", "kind", "level", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"), index=True)
    kind: Mapped[FlagKind] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    # The moment the flag counts from: warn_at, due_at, or last_progress_at for a stall.
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    level: Mapped[int] = mapped_column(Integer, default=Level.HANDLER)
    # kind:instance:task-N:moment (the due_at or warn_at flagged), or kind:instance:episode for
    # a stall; a deadline moved by a calendar change, or a stall that recurs, gets a new key.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
