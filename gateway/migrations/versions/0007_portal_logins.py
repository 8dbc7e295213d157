"""Portal logins the gateway can end: a row per login, without which its session cookie is no
login (logging out deletes it; maintenance deletes those past their lifetime).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_logins",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_portal_logins")),
    )
    with op.batch_alter_table("portal_logins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_logins_started_at"), ["started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_logins_started_at"))
    op.drop_table("portal_logins")
