"""The language a person chose in the portal, kept for their next login and their notices.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "preferred_languages",
        sa.Column("person_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_pseudonym", name=op.f("pk_preferred_languages")),
    )


def downgrade() -> None:
    op.drop_table("preferred_languages")
