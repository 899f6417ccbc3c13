"""outbox leases, people's tenant, messages holding forms, the shared card-signing key

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_id", sa.String(32), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(64), nullable=True))
    op.create_table(
        "card_messages",
        sa.Column("conversation_id", sa.String(400), nullable=False),
        sa.Column("activity_id", sa.String(200), nullable=False),
        sa.Column("card_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "activity_id", name=op.f("pk_card_messages")),
    )
    with op.batch_alter_table("card_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_messages_created_at"), ["created_at"], unique=False)
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )


def downgrade() -> None:
    op.drop_table("app_secrets")
    op.drop_table("card_messages")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("tenant_id")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("lease_id")
