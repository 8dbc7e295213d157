"""Exchanges and their sealed payloads, guardians, consent statements and parents' notices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("holder", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("grantee_id", sa.String(length=36), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "level IN ('signal', 'summary', 'full')", name=op.f("ck_consents_level")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'active', 'declined', 'revoked', 'expired')",
            name=op.f("ck_consents_status"),
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["children.id"],
            name=op.f("fk_consents_child_id_children"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grantee_id"], ["organisations.id"], name=op.f("fk_consents_grantee_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_exchange_id"), ["exchange_id"], unique=False)
        batch_op.create_index(
            "ix_consents_lookup", ["child_id", "purpose", "grantee_id"], unique=False
        )

    op.create_table(
        "exchanges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("initiator_id", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("requested_fields", sa.JSON(), nullable=False),
        sa.Column("requested_level", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("break_glass_justification", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("relied_consent_ids", sa.JSON(), nullable=False),
        sa.Column("placement_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "direction IN ('offer', 'request')", name=op.f("ck_exchanges_direction")
        ),
        sa.CheckConstraint(
            "status IN ('denied', 'awaiting_consent', 'awaiting_delivery', 'delivered', "
            "'fetched', 'expired', 'revoked', 'withdrawn')",
            name=op.f("ck_exchanges_status"),
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_exchanges_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["initiator_id"],
            ["organisations.id"],
            name=op.f("fk_exchanges_initiator_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["organisations.id"],
            name=op.f("fk_exchanges_recipient_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["organisations.id"], name=op.f("fk_exchanges_source_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanges")),
        sa.UniqueConstraint(
            "initiator_id",
            "idempotency_key",
            name=op.f("uq_exchanges_initiator_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.create_index("ix_exchanges_child_purpose", ["child_id", "purpose"], unique=False)
        batch_op.create_index(
            "ix_exchanges_recipient_status", ["recipient_id", "status"], unique=False
        )
        batch_op.create_index("ix_exchanges_source_status", ["source_id", "status"], unique=False)

    op.create_table(
        "guardians",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("gezag", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("accompanying", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["children.id"],
            name=op.f("fk_guardians_child_id_children"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardians")),
        sa.UniqueConstraint("child_id", "relation", name=op.f("uq_guardians_child_id_relation")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("holder", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("consent_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('consent_requested', 'informed')", name=op.f("ck_notices_kind")
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["children.id"],
            name=op.f("fk_notices_child_id_children"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_holder"), ["holder"], unique=False)

    op.create_table(
        "payloads",
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("stripped", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shred_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name=op.f("fk_payloads_exchange_id_exchanges")
        ),
        sa.PrimaryKeyConstraint("exchange_id", name=op.f("pk_payloads")),
    )


def downgrade() -> None:
    op.drop_table("payloads")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_holder"))

    op.drop_table("notices")
    op.drop_table("guardians")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index("ix_exchanges_source_status")
        batch_op.drop_index("ix_exchanges_recipient_status")
        batch_op.drop_index("ix_exchanges_child_purpose")

    op.drop_table("exchanges")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_lookup")
        batch_op.drop_index(batch_op.f("ix_consents_exchange_id"))

    op.drop_table("consents")
