"""Parents' reactions (zienswijze) kept with a payload, sealed under its data key.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payloads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reactions", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payloads", schema=None) as batch_op:
        batch_op.drop_column("reactions")
