"""calendar: shipped vs admin rows, notice numbers, calendar_year; topic notifications

Revision ID: 0002
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0002"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("notice_no", sa.String(length=100), nullable=True),
        sa.Column("updated_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_year")),
        sa.UniqueConstraint("year", "region", name=op.f("uq_calendar_year_year_region")),
    )
    with op.batch_alter_table("calendar_override", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=10), nullable=False, server_default="admin")
        )
        batch_op.add_column(sa.Column("notice_no", sa.String(length=100), nullable=True))
    # Rows the demo seeded from the shipped file before this revision were written by "system".
    op.execute("UPDATE calendar_override SET origin = 'shipped' WHERE created_by = 'system'")
    with op.batch_alter_table("calendar_override", schema=None) as batch_op:
        batch_op.alter_column("origin", server_default=None)

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=100), nullable=True))
        batch_op.alter_column("flag_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_notification_user_id_topic"), ["user_id", "topic"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE flag_id IS NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_notification_user_id_topic"), type_="unique")
        batch_op.alter_column("flag_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("topic")
    with op.batch_alter_table("calendar_override", schema=None) as batch_op:
        batch_op.drop_column("notice_no")
        batch_op.drop_column("origin")
    op.drop_table("calendar_year")
