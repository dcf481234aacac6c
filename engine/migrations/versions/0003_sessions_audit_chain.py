"""server-side sessions, audit hash chain, append-only audit on PostgreSQL

Revision ID: 0003
Revises: 0006
Create Date: 2026-12-04 04:00:00

Existing audit rows are chained in id order per instance before row_hash becomes NOT NULL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import engine.models
from engine import audit

revision = "0003"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_user_session_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_user_session_id_hash")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in engine.models.AUDIT_APPEND_ONLY_DDL:
            op.execute(statement)


def _chain_existing_rows() -> None:
    connection = op.get_bind()
    table = audit.AUDIT_TABLE
    rows = connection.execute(sa.select(table).order_by(table.c.instance_id, table.c.id)).mappings()
    heads: dict[Any, str | None] = {}
    updates: list[dict[str, Any]] = []
    for row in rows:
        prev = heads.get(row["instance_id"])
        heads[row["instance_id"]] = digest = audit.row_hash(row, prev)
        updates.append({"row_id": row["id"], "prev": prev, "digest": digest})
    if updates:
        connection.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("prev"), row_hash=sa.bindparam("digest")),
            updates,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
    op.drop_table("user_session")
