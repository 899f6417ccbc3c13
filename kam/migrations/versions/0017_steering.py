"""steering: results figures per account and year, the company's totals, key account candidates and their scores,
list reviews with their proposals, the monthly KPI card sent once

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TIERS = ("key_account", "international_key_account", "strategic_key_account", "corporate_strategic_key_account")


def _tier(name: str) -> sa.Column:
    return sa.Column(name, sa.Enum(*TIERS, name="tier", native_enum=False, length=40), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scores", sa.JSON(), nullable=True))
    op.create_table(
        "result_figures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("potential", sa.Float(), nullable=True),
        sa.Column("share_of_wallet", sa.Float(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("account_id", "year", name="uq_result_figures_account_id"),
    )
    op.create_index("ix_result_figures_account_id", "result_figures", ["account_id"])
    op.create_table(
        "company_figures",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column(
            "kind",
            sa.Enum(
                "future_key_account", "acquisition", "win_back", name="candidate_kind", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "list_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comments_by", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_table(
        "list_review_proposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("list_reviews.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id", ondelete="CASCADE"), nullable=True),
        sa.Column("proposal", sa.String(20), nullable=False),
        _tier("tier"),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("why", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("commented_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
        sa.Column("commented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
        _tier("decided_tier"),
    )
    op.create_index("ix_list_review_proposals_review_id", "list_review_proposals", ["review_id"])
    op.create_table(
        "kpi_cards_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "month", name="uq_kpi_cards_sent_person_id"),
    )


def downgrade() -> None:
    op.drop_table("kpi_cards_sent")
    op.drop_index("ix_list_review_proposals_review_id", table_name="list_review_proposals")
    op.drop_table("list_review_proposals")
    op.drop_table("list_reviews")
    op.drop_table("candidates")
    op.drop_table("company_figures")
    op.drop_index("ix_result_figures_account_id", table_name="result_figures")
    op.drop_table("result_figures")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("scores")
