"""A kept decision keeps the salts of its commitments to the facts a party may not see, and who
supplied each (ADR 0013); records from before have none.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decision_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commitments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decision_records", schema=None) as batch_op:
        batch_op.drop_column("commitments")
