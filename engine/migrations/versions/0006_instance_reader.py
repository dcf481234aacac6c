"""instance reader: the access list of confidential instances

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_reader",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
            name=op.f("fk_instance_reader_instance_id_process_instance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_reader")),
        sa.UniqueConstraint(
            "instance_id", "username", name=op.f("uq_instance_reader_instance_id_username")
        ),
    )
    with op.batch_alter_table("instance_reader", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_instance_reader_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_instance_reader_username"), ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instance_reader", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_reader_username"))
        batch_op.drop_index(batch_op.f("ix_instance_reader_instance_id"))
    op.drop_table("instance_reader")
