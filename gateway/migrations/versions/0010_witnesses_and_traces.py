"""Witness cosignatures of checkpoints (append-only), what the log last heard from each
witness, and the trace id of every entry as a searchable column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from audit.tables import immutability_ddl

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_cosignatures",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=300), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", "witness", name=op.f("pk_audit_cosignatures")),
    )
    op.create_table(
        "audit_witness_state",
        sa.Column("witness", sa.String(length=300), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("witness", name=op.f("pk_audit_witness_state")),
    )
    # A new nullable column: DDL, which the append-only triggers (UPDATE, DELETE) allow.
    op.add_column("audit_entries", sa.Column("trace_id", sa.String(length=32), nullable=True))
    op.create_index("ix_audit_entries_trace_id", "audit_entries", ["trace_id"])
    dialect = op.get_bind().dialect.name
    for statement in immutability_ddl(dialect, ("audit_cosignatures",)):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_audit_entries_trace_id", table_name="audit_entries")
    with op.batch_alter_table("audit_entries") as batch_op:
        batch_op.drop_column("trace_id")
    op.drop_table("audit_witness_state")
    op.drop_table("audit_cosignatures")  # its triggers go with it
