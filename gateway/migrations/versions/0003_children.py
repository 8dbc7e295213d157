"""Children: a keyed pseudonym of the BSN, a birth date, a safety code.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "children",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("safety_code", sa.String(length=16), nullable=True),
        sa.Column("safety_code_set_by", sa.String(length=36), nullable=True),
        sa.Column("safety_code_set_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "safety_code IN ('groen', 'oranje', 'rood')", name=op.f("ck_children_safety_code")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_children")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_children_pseudonym")),
    )


def downgrade() -> None:
    op.drop_table("children")
