"""Every break-glass exchange has a review deadline: the end of the register's number of
working days after it (default 5). Existing ones get 5 working days from their creation.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from alembic import op

from gateway.dutch_time import working_days_after

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

exchanges = sa.table(
    "exchanges",
    sa.column("id", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("break_glass_justification", sa.Text),
    sa.column("break_glass_review_due", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("break_glass_review_due", sa.DateTime(timezone=True), nullable=True)
        )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(exchanges.c.id, exchanges.c.created_at).where(
            exchanges.c.break_glass_justification.is_not(None)
        )
    ).all()
    for exchange_id, created_at in rows:  # stored in UTC; SQLite returns them without zone
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        connection.execute(
            sa.update(exchanges)
            .where(exchanges.c.id == exchange_id)
            .values(break_glass_review_due=working_days_after(created, 5))
        )


def downgrade() -> None:
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_column("break_glass_review_due")
