"""account list fields and provisioning state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("function", sa.String(length=60), nullable=True))

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidential", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("customer_domains", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column("countries", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("channel_name", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("tabs_ready", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("aad_object_id", existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_people_upn"), ["upn"])


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_people_upn"), type_="unique")
        batch_op.alter_column("aad_object_id", existing_type=sa.VARCHAR(length=64), nullable=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("tabs_ready")
        batch_op.drop_column("channel_name")
        batch_op.drop_column("active")
        batch_op.drop_column("countries")
        batch_op.drop_column("customer_domains")
        batch_op.drop_column("confidential")

    with op.batch_alter_table("account_members", schema=None) as batch_op:
        batch_op.drop_column("function")
