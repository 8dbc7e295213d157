"""Organisations, their client keys, and used client assertions.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("identifier", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("client_secret_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('opvang', 'school', 'swv', 'leerplicht', 'gateway')",
            name=op.f("ck_organisations_role"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'suspended')", name=op.f("ck_organisations_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("role", "identifier", name=op.f("uq_organisations_role_identifier")),
    )
    op.create_table(
        "organisation_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("kid", sa.String(length=128), nullable=False),
        sa.Column("jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_keys_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_keys")),
        sa.UniqueConstraint(
            "organisation_id", "kid", name=op.f("uq_organisation_keys_organisation_id_kid")
        ),
    )
    op.create_index(
        op.f("ix_organisation_keys_organisation_id"), "organisation_keys", ["organisation_id"]
    )
    op.create_table(
        "used_client_assertions",
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_used_client_assertions")),
    )
    op.create_index(
        op.f("ix_used_client_assertions_expires_at"), "used_client_assertions", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_used_client_assertions_expires_at"), "used_client_assertions")
    op.drop_table("used_client_assertions")
    op.drop_index(op.f("ix_organisation_keys_organisation_id"), "organisation_keys")
    op.drop_table("organisation_keys")
    op.drop_table("organisations")
