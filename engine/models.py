"""ORM tables of the engine core: definitions, instances, projections, audit, accounts.

Domain packages (deadlines, planning) keep their own tables in their own modules and
import `Base` from engine.db. Nothing here talks to SpiffWorkflow.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DDL
from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import TypeDecorator
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from engine.db import Base

TITLE_LENGTH = 300
ORG_CODE_LENGTH = 40


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OrgType(StrEnum):
    AGENCY = "agency"
    TOWNSHIP = "township"
    JUSTICE_BUREAU = "justice_bureau"
    COUNTY_GOVERNMENT = "county_government"
    ESTABLISHMENT_OFFICE = "establishment_office"
    POLICE = "police"
    PROCURATORATE = "procuratorate"
    DISCIPLINE_COMMISSION = "discipline_commission"


class Role(StrEnum):
    OFFICER = "officer"
    HEAD = "head"
    LEGAL_REVIEWER = "legal_reviewer"
    COORDINATOR = "coordinator"
    DISCIPLINE_LIAISON = "discipline_liaison"
    ADMIN = "admin"


class InstanceStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


# A case that can move on: steps, returns and withdrawals need one of these.
ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
# Stopped by a person (挂起, 终止): no task of such a case can be acted on.
HALTED_STATUSES = (InstanceStatus.SUSPENDED, InstanceStatus.TERMINATED)


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Organization(Base):
    __tablename__ = "organization"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[OrgType] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    township_code: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    org_code: Mapped[str] = mapped_column(ForeignKey("organization.code"), index=True)
    role: Mapped[Role] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="select"
    )


class Certificate(Base):
    """An enforcement certificate (行政执法证): number, fields, validity."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)

    user: Mapped[User] = relationship(back_populates="certificates")


class UserSession(Base):
    """A browser login: the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessDefinition(Base):
    """One deployed version of a process: its files, identified by their hash."""

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "spec_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    spec_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    forms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deployed_by: Mapped[str] = mapped_column(String(80), default="system")


class ProcessInstance(Base):
    """One running case: SpiffWorkflow state (instance only) plus columns pages filter on."""

    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_started", "started_at", "id"),
        Index("ix_process_instance_progress", "status", "last_progress_at"),
        # Counts by organization (监督) read this index alone.
        Index("ix_process_instance_org", "started_org", "status", "confidential", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    # The definition's content hash: caches of parsed specs are keyed by it, never by row id.
    spec_hash: Mapped[str] = mapped_column(String(64))
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH), default="")
    status: Mapped[InstanceStatus] = mapped_column(String(20), index=True)
    state_json: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_progress_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    started_org: Mapped[str | None] = mapped_column(String(40), index=True)
    township_code: Mapped[str | None] = mapped_column(String(ORG_CODE_LENGTH), index=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # In-row copies of what the projection tables hold, so a step can tell what changed
    # without querying them: {"timers": [...], "messages": [...]} and the party org codes.
    waits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    party_orgs: Mapped[list[str]] = mapped_column(JSON, default=list)
    clocks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)

    definition: Mapped[ProcessDefinition] = relationship(lazy="select")

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 - SQLAlchemy reads it


class InstanceParty(Base):
    """An organization taking part in an instance (who may see it)."""

    __tablename__ = "instance_party"
    __table_args__ = (UniqueConstraint("instance_id", "org_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    org_code: Mapped[str] = mapped_column(String(40), index=True)


class InstanceReader(Base):
    """A user named on a confidential instance's access list (need-to-know readers)."""

    __tablename__ = "instance_reader"
    __table_args__ = (UniqueConstraint("instance_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    username: Mapped[str] = mapped_column(String(80), index=True)


class HumanTask(Base):
    """Projection of a user task: open ones feed the inbox, closed ones the done list."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_route", "status", "org_code", "role"),
        Index("ix_human_task_due", "status", "due_at"),
        # Keyset pages of the inbox, the team list and the done list walk these in order; the
        # trailing columns let the inbox count its lights from the index alone.
        Index(
            "ix_human_task_inbox",
            "status",
            "org_code",
            "role",
            "due_at",
            "id",
            "assignee_id",
            "warn_at",
        ),
        Index("ix_human_task_assigned", "assignee_id", "status", "due_at", "id", "warn_at"),
        Index("ix_human_task_done", "completed_by_id", "status", "completed_at", "id"),
        Index("ix_human_task_warn", "status", "warn_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(30))
    org_code: Mapped[str | None] = mapped_column(String(40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[TaskStatus] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class TimerProjection(Base):
    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    bpmn_id: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class MessageSubscription(Base):
    """A message (or, with kind "signal", a signal) an instance waits for.

    `correlation` shows the correlation values as canonical JSON; `properties` lists the
    correlation properties the catching event declares; the values the instance holds for them
    are rows of `message_correlation`, which delivery looks up.
    """

    __tablename__ = "message_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="message")
    message_name: Mapped[str] = mapped_column(String(200), index=True)
    correlation: Mapped[str] = mapped_column(String(500), default="")
    properties: Mapped[list[str]] = mapped_column(JSON, default=list)
    bpmn_id: Mapped[str | None] = mapped_column(String(100))
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    values: Mapped[list[MessageCorrelation]] = relationship(cascade="all, delete-orphan")


class MessageCorrelation(Base):
    """One correlation value of a subscription: (key, property) = value, value as JSON text."""

    __tablename__ = "message_correlation"
    __table_args__ = (Index("ix_message_correlation_lookup", "message_name", "property", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("message_subscription.id"), index=True)
    message_name: Mapped[str] = mapped_column(String(200))
    key_name: Mapped[str] = mapped_column(String(200))
    property: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(500))


class AuditEvent(Base):
    """Append-only record of every state change, hash-chained per instance (engine.audit).

    Rows are written only through `engine.audit.append_events`; the ORM refuses to update or
    delete them, and on PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    data_before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # SHA-256 hex of the instance's previous row (None for its first) and of this row.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditLogIsAppendOnly(Exception):
    """Raised by the ORM on any attempt to change or remove an audit row."""


def _refuse_audit_change(_mapper: Mapper[Any], _connection: object, target: AuditEvent) -> None:
    raise AuditLogIsAppendOnly(f"audit_event {target.id} cannot be changed or deleted")


event.listen(AuditEvent, "before_update", _refuse_audit_change)
event.listen(AuditEvent, "before_delete", _refuse_audit_change)

# PostgreSQL refuses UPDATE, DELETE and TRUNCATE of audit rows, whoever asks; the migration
# and create_all (tests) both create these.
AUDIT_APPEND_ONLY_DDL = (
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE = 'audit_event is append-only: ' || TG_OP || ' refused',
    ERRCODE = 'insufficient_privilege';
END
$$""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
)

for _statement in AUDIT_APPEND_ONLY_DDL:
    _ddl = DDL(_statement)  # type: ignore[no-untyped-call]
    event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
