"""message subscription correlation values per property

Revision ID: 0008
Revises: 0002
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_message_subscription_lookup")
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="message")
        )
        batch_op.add_column(
            sa.Column("properties", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.create_index(
            batch_op.f("ix_message_subscription_message_name"), ["message_name"], unique=False
        )
    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
        batch_op.alter_column("properties", server_default=None)

    op.create_table(
        "message_correlation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("message_name", sa.String(length=200), nullable=False),
        sa.Column("key_name", sa.String(length=200), nullable=False),
        sa.Column("property", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["message_subscription.id"],
            name=op.f("fk_message_correlation_subscription_id_message_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_correlation")),
    )
    with op.batch_alter_table("message_correlation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_correlation_lookup", ["message_name", "property", "value"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_message_correlation_subscription_id"), ["subscription_id"], unique=False
        )
    _move_legacy_values()


def _move_legacy_values() -> None:
    """Waiting rows of the old `correlate_on` form ({"case_no": "X"}, text values) keep them.

    They become rows of message_correlation, so those instances still get their messages until
    their next step rewrites the subscription from their (old) definition.
    """
    subscription = sa.table(
        "message_subscription",
        sa.column("id", sa.Integer()),
        sa.column("message_name", sa.String()),
        sa.column("correlation", sa.String()),
        sa.column("properties", sa.JSON()),
    )
    correlation = sa.table(
        "message_correlation",
        sa.column("subscription_id", sa.Integer()),
        sa.column("message_name", sa.String()),
        sa.column("key_name", sa.String()),
        sa.column("property", sa.String()),
        sa.column("value", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(subscription.c.id, subscription.c.message_name, subscription.c.correlation)
    ).all()
    for subscription_id, name, text in rows:
        values = json.loads(text) if text else {}
        if not isinstance(values, dict) or not values:
            continue
        connection.execute(
            sa.insert(correlation),
            [
                {
                    "subscription_id": subscription_id,
                    "message_name": name,
                    "key_name": "legacy",
                    "property": prop,
                    "value": json.dumps(str(value), ensure_ascii=False),
                }
                for prop, value in values.items()
            ],
        )
        connection.execute(
            sa.update(subscription)
            .where(subscription.c.id == subscription_id)
            .values(properties=sorted(values))
        )


def downgrade() -> None:
    with op.batch_alter_table("message_correlation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_correlation_subscription_id"))
        batch_op.drop_index("ix_message_correlation_lookup")
    op.drop_table("message_correlation")
    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_subscription_message_name"))
        batch_op.drop_column("properties")
        batch_op.drop_column("kind")
        batch_op.create_index(
            "ix_message_subscription_lookup", ["message_name", "correlation"], unique=False
        )
