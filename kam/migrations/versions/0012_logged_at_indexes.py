"""contacts and decisions indexed by when they were logged

The sweep reads what was logged since its last run (the nudges it answers, the weekly
nudges' "logged this week"); without these indexes each sweep read both tables whole.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("contacts", "decisions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    for table in ("contacts", "decisions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_created_at"))
