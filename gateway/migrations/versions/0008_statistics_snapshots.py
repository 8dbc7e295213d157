"""The stored statistics of school years that have closed, so their figures stay as they were
when the records they were counted from are erased after their retention.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statistics_snapshots",
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_year", name=op.f("pk_statistics_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("statistics_snapshots")
