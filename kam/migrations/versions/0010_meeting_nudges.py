"""after-meeting nudges, when people's calendars are read next, answered weekly nudges

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_people_calendar_due_at"), ["calendar_due_at"], unique=False)
    with op.batch_alter_table("nudges_sent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "meeting_nudges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("meeting_key", sa.String(400), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_people", sa.JSON(), nullable=False),
        sa.Column("colleague_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(20), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("person_id", "meeting_key", name="uq_meeting_nudges_person_id"),
    )
    with op.batch_alter_table("meeting_nudges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_nudges_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_table("meeting_nudges")
    with op.batch_alter_table("nudges_sent", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_calendar_due_at"))
        batch_op.drop_column("calendar_due_at")
