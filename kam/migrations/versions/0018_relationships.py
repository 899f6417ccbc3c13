"""relationships: the stakeholder model (reports-to, influence, support level, decision power, buying-centre roles,
inner circle), hand-set relationship strengths, and the daily account health score

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Old value -> new value: the roles and support levels of issue 19 replace the first ones.
RENAMED = {
    "buying_role": {"influencer": "technical_influencer", "buyer": "economic_buyer"},
    "attitude": {"critic": "non_supporter"},
}


def _rename(old_to_new: bool) -> None:
    stakeholders = sa.table("stakeholders", sa.column("buying_role", sa.String), sa.column("attitude", sa.String))
    for column, values in RENAMED.items():
        for old, new in values.items():
            before, after = (old, new) if old_to_new else (new, old)
            op.execute(
                stakeholders.update().where(stakeholders.c[column] == before).values({column: after})
            )


def upgrade() -> None:
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch_op.add_column(sa.Column("reports_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "decision_power",
                sa.Enum("low", "medium", "high", name="decision_power", native_enum=False, length=40),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("inner_circle", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_foreign_key(
            "fk_stakeholders_reports_to_id", "stakeholders", ["reports_to_id"], ["id"], ondelete="SET NULL"
        )
    _rename(old_to_new=True)
    op.create_table(
        "stakeholder_influences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "influencer_id", sa.Integer(), sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "influenced_id", sa.Integer(), sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.UniqueConstraint("influencer_id", "influenced_id", name="uq_stakeholder_influences_influencer_id"),
    )
    op.create_index("ix_stakeholder_influences_account_id", "stakeholder_influences", ["account_id"])
    op.create_table(
        "relationship_strengths",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "stakeholder_id", sa.Integer(), sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("strength", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("stakeholder_id", "person_id", name="uq_relationship_strengths_stakeholder_id"),
    )
    op.create_index("ix_relationship_strengths_stakeholder_id", "relationship_strengths", ["stakeholder_id"])
    op.create_table(
        "account_health",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("drop_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("account_id", "on_date", name="uq_account_health_account_id"),
    )
    op.create_index("ix_account_health_account_id", "account_health", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_account_health_account_id", table_name="account_health")
    op.drop_table("account_health")
    op.drop_index("ix_relationship_strengths_stakeholder_id", table_name="relationship_strengths")
    op.drop_table("relationship_strengths")
    op.drop_index("ix_stakeholder_influences_account_id", table_name="stakeholder_influences")
    op.drop_table("stakeholder_influences")
    _rename(old_to_new=False)
    stakeholders = sa.table("stakeholders", sa.column("buying_role", sa.String), sa.column("attitude", sa.String))
    op.execute(
        stakeholders.update()
        .where(stakeholders.c.buying_role.in_(("champion", "sponsor")))
        .values(buying_role="influencer")
    )
    op.execute(stakeholders.update().where(stakeholders.c.attitude == "mentor").values(attitude="supporter"))
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.drop_constraint("fk_stakeholders_reports_to_id", type_="foreignkey")
        batch_op.drop_column("inner_circle")
        batch_op.drop_column("decision_power")
        batch_op.drop_column("reports_to_id")
        batch_op.drop_column("email")
