"""Consents given ahead of time: to every organisation of a role in some gemeenten.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope_role", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("scope_gemeenten", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("scope_label", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("standing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("grantee_id", existing_type=sa.VARCHAR(length=36), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_consents_grantee_or_scope"),
            "grantee_id IS NOT NULL OR scope_role IS NOT NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consents_grantee_or_scope"), type_="check")
        batch_op.alter_column("grantee_id", existing_type=sa.VARCHAR(length=36), nullable=False)
        batch_op.drop_column("standing")
        batch_op.drop_column("scope_label")
        batch_op.drop_column("scope_gemeenten")
        batch_op.drop_column("scope_role")
