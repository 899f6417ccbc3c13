"""weekly nudges: people's time zones, pausing, and the nudges sent

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("nudges_paused", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "nudges_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "account_id", "week", name="uq_nudges_sent_person_id"),
    )


def downgrade() -> None:
    op.drop_table("nudges_sent")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("nudges_paused")
        batch_op.drop_column("time_zone")
