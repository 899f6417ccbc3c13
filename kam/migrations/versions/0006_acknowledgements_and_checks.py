"""acknowledgements, failure-check flags, price actions, account rules, people's 1:1 chats and locales

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ITEM_KIND = sa.Enum("contact", "decision", "price_action", name="item_kind", native_enum=False, length=40)
FLAG_KIND = sa.Enum(
    "paid_service",
    "concession",
    "framework_agreement",
    "free_after_paid",
    "parallel_framework",
    "price_risk",
    name="flag_kind",
    native_enum=False,
    length=40,
)


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.String(400), nullable=True))
        batch_op.add_column(sa.Column("locale", sa.String(20), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules", sa.JSON(), nullable=True))
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_kind", ITEM_KIND, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("account_id", "item_kind", "item_id", "person_id", name="uq_acknowledgements_account_id"),
    )
    op.create_index("ix_acknowledgements_remind_at", "acknowledgements", ["remind_at"])
    op.create_index("ix_acknowledgements_report_at", "acknowledgements", ["report_at"])
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", FLAG_KIND, nullable=False),
        sa.Column("item_kind", ITEM_KIND, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("topic", sa.String(300), nullable=False),
        sa.Column("related_id", sa.Integer(), sa.ForeignKey("flags.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_flags_account_id", "flags", ["account_id"])
    op.create_table(
        "price_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("logged_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_price_actions_idempotency_key"),
    )


def downgrade() -> None:
    op.drop_table("price_actions")
    op.drop_index("ix_flags_account_id", "flags")
    op.drop_table("flags")
    op.drop_index("ix_acknowledgements_report_at", "acknowledgements")
    op.drop_index("ix_acknowledgements_remind_at", "acknowledgements")
    op.drop_table("acknowledgements")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("rules")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("locale")
        batch_op.drop_column("chat_id")
