"""indexes for keyset pages and job candidate queries at 100,000 instances

Revision ID: 0005
Revises: 0008
Create Date: 2026-12-04 04:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = (
    (
        "human_task",
        "ix_human_task_inbox",
        ["status", "org_code", "role", "due_at", "id", "assignee_id", "warn_at"],
    ),
    ("human_task", "ix_human_task_assigned", ["assignee_id", "status", "due_at", "id", "warn_at"]),
    ("human_task", "ix_human_task_done", ["completed_by_id", "status", "completed_at", "id"]),
    ("human_task", "ix_human_task_warn", ["status", "warn_at"]),
    ("process_instance", "ix_process_instance_started", ["started_at", "id"]),
    ("process_instance", "ix_process_instance_progress", ["status", "last_progress_at"]),
    (
        "process_instance",
        "ix_process_instance_org",
        ["started_org", "status", "confidential", "id"],
    ),
    ("notification", "ix_notification_list", ["user_id", "created_at", "id"]),
    ("flag", "ix_flag_ladder", ["cleared_at", "kind", "level", "raised_at"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
