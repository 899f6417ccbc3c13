"""daily use: the weekly digest (each person's day, one per person and week), pre-meeting briefs, batched
acknowledgement requests, one welcome per place (Teams' emulators name one chat with two conversation ids)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "welcomes",
        sa.Column("place", sa.String(400), primary_key=True),
        sa.Column("welcomed_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("conversation_refs", schema=None) as batch_op:
        batch_op.drop_column("welcomed_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_day", sa.String(length=3), nullable=True))
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True))
    # Requests that went before batching have had their card: only those still waiting in the outbox are
    # gathered onto the next one.
    op.execute(
        "UPDATE acknowledgements SET requested_at = created_at WHERE id NOT IN "
        "(SELECT subject_id FROM outbox WHERE kind = 'ack.request' AND status = 'pending')"
    )
    op.create_table(
        "digests_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "week", name="uq_digests_sent_person_id"),
    )
    op.create_table(
        "meeting_briefs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("meeting_key", sa.String(400), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_attendees", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "meeting_key", name="uq_meeting_briefs_person_id"),
    )
    with op.batch_alter_table("meeting_briefs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_briefs_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_table("meeting_briefs")
    op.drop_table("digests_sent")
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.drop_column("requested_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("digest_day")
    with op.batch_alter_table("conversation_refs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("welcomed_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("welcomes")
