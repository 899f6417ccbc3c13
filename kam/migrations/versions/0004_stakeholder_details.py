"""stakeholder details

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("function", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column(
                "level",
                sa.Enum(
                    "operational", "management", "executive", name="stakeholder_level", native_enum=False, length=40
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "buying_role",
                sa.Enum(
                    "decision_maker",
                    "influencer",
                    "user",
                    "gatekeeper",
                    "buyer",
                    name="buying_role",
                    native_enum=False,
                    length=40,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "attitude",
                sa.Enum("supporter", "neutral", "critic", name="attitude", native_enum=False, length=40),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_stakeholders_owner_id_people"), "people", ["owner_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_stakeholders_owner_id_people"), type_="foreignkey")
        batch_op.drop_column("owner_id")
        batch_op.drop_column("attitude")
        batch_op.drop_column("buying_role")
        batch_op.drop_column("level")
        batch_op.drop_column("function")
