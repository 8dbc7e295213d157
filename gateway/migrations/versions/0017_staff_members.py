"""The staff members an organisation authorises, named in the audit entries of their calls;
``on_behalf_of`` indexed on the audit entries, filled in from the leaves already written.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "staff_members",
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_staff_members_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "staff_id", name=op.f("pk_staff_members")),
    )
    op.add_column("audit_entries", sa.Column("on_behalf_of", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_entries_on_behalf_of", "audit_entries", ["on_behalf_of"])
    _index_on_behalf_of()


def _index_on_behalf_of() -> None:
    """Copy each existing leaf's on_behalf_of into the new column (the leaf is unchanged)."""
    entries = sa.table(
        "audit_entries",
        sa.column("idx", sa.BigInteger),
        sa.column("leaf", sa.LargeBinary),
        sa.column("on_behalf_of", sa.String),
    )
    connection = op.get_bind()
    after = -1
    while True:
        rows = connection.execute(
            sa.select(entries.c.idx, entries.c.leaf)
            .where(entries.c.idx > after)
            .order_by(entries.c.idx)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for idx, leaf in rows:
            on_behalf_of = json.loads(leaf).get("on_behalf_of")
            if on_behalf_of is not None:
                connection.execute(
                    sa.update(entries).where(entries.c.idx == idx).values(on_behalf_of=on_behalf_of)
                )
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_audit_entries_on_behalf_of", table_name="audit_entries")
    with op.batch_alter_table("audit_entries") as batch_op:
        batch_op.drop_column("on_behalf_of")
    op.drop_table("staff_members")
