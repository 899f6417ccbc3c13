"""send_slots: requests to the Bot Connector, booked in windows every instance shares

Until now each instance paced its own sends with a share of the tenant's limit set by hand;
the per-conversation windows were kept in memory, so two instances posting to one channel
could together exceed them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_slots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=450), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_slots")),
    )
    op.create_index("ix_send_slots_key_at", "send_slots", ["key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_send_slots_key_at", table_name="send_slots")
    op.drop_table("send_slots")
