"""Decisions anyone can replay: every policy bundle used, kept under its version, and every
decision the gateway acts on, kept with its input and answer beside its audit entry.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_bundles",
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_bundles")),
    )
    op.create_table(
        "decision_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("audit_index", sa.BigInteger(), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=True),
        sa.Column("child_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_decision_records_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_decision_records_exchange_id_exchanges"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_bundles.version"],
            name=op.f("fk_decision_records_policy_version_policy_bundles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_records")),
        sa.UniqueConstraint("audit_index", name=op.f("uq_decision_records_audit_index")),
    )
    with op.batch_alter_table("decision_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_records_exchange_id"), ["exchange_id"], unique=False
        )
        batch_op.create_index("ix_decision_records_recorded_at", ["recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decision_records", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_records_recorded_at")
        batch_op.drop_index(batch_op.f("ix_decision_records_exchange_id"))
    op.drop_table("decision_records")
    op.drop_table("policy_bundles")
