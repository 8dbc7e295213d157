"""A portal login keeps its ID token, sealed with a key only the session cookie holds, for
RP-Initiated Logout at the identity provider.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_logins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_id_token", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portal_logins", schema=None) as batch_op:
        batch_op.drop_column("sealed_id_token")
