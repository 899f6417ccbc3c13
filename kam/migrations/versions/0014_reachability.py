"""who kambot cannot reach: people Teams refused a 1:1 chat with, members missing from their team; a channel
being replaced by a shared one

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unreachable_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("unreachable_reason", sa.String(length=300), nullable=True))
    with op.batch_alter_table("account_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missing_reported_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_channel_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("replaced_channel_id")
    with op.batch_alter_table("account_members", schema=None) as batch_op:
        batch_op.drop_column("missing_reported_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("unreachable_reason")
        batch_op.drop_column("unreachable_since")
