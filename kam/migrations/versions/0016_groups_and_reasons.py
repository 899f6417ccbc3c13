"""one consistent message across languages and subsidiaries: customer groups, why a check fired, conflicts
marked "not a conflict"

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_group", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_accounts_customer_group", ["customer_group"])
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dismissed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dismissed_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_flags_dismissed_by_id_people", "people", ["dismissed_by_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    # Cards about conflicts across a group that older code cannot render: not owed to anyone any more.
    op.execute("DELETE FROM outbox WHERE kind = 'conflict.notice'")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint("fk_flags_dismissed_by_id_people", type_="foreignkey")
        batch_op.drop_column("dismissed_reason")
        batch_op.drop_column("dismissed_by_id")
        batch_op.drop_column("dismissed_at")
        batch_op.drop_column("reason")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_customer_group")
        batch_op.drop_column("customer_group")
