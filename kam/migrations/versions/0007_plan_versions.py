"""key account plans, every save a version

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("account_id", "version", name="uq_plan_versions_account_id"),
    )
    op.create_index("ix_plan_versions_account_id", "plan_versions", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_versions_account_id", "plan_versions")
    op.drop_table("plan_versions")
