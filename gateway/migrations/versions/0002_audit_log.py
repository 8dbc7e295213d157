"""The audit log: entries, stored subtree hashes, checkpoints, the sequencer, child references.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from audit.tables import drop_immutability_ddl, immutability_ddl

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The append-only tables this revision creates (later ones add their own triggers).
FIRST_APPEND_ONLY = ("audit_entries", "audit_nodes", "audit_checkpoints")


def upgrade() -> None:
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0}])
    op.create_table(
        "audit_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("child_ref", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_actor_id", "audit_entries", ["actor_id"])
    op.create_index("ix_audit_entries_child_ref", "audit_entries", ["child_ref"])
    op.create_index("ix_audit_entries_recorded_at", "audit_entries", ["recorded_at"])
    op.create_table(
        "audit_nodes",
        sa.Column("pos", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pos", name=op.f("pk_audit_nodes")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_child_refs",
        sa.Column("pseudonym", sa.String(length=128), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_audit_child_refs")),
        sa.UniqueConstraint("ref", name=op.f("uq_audit_child_refs_ref")),
    )
    for statement in immutability_ddl(op.get_bind().dialect.name, FIRST_APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_immutability_ddl(op.get_bind().dialect.name, FIRST_APPEND_ONLY):
        op.execute(statement)
    op.drop_table("audit_child_refs")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_nodes")
    op.drop_index("ix_audit_entries_recorded_at", "audit_entries")
    op.drop_index("ix_audit_entries_child_ref", "audit_entries")
    op.drop_index("ix_audit_entries_actor_id", "audit_entries")
    op.drop_table("audit_entries")
    op.drop_table("audit_head")
