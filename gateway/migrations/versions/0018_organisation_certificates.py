"""Client certificates organisations authenticate with over mutual TLS (RFC 8705).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation_certificates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("thumbprint", sa.String(length=43), nullable=False),
        sa.Column("subject_serial", sa.String(length=64), nullable=True),
        sa.Column("self_signed", sa.Boolean(), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_certificates_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_certificates")),
        sa.UniqueConstraint("thumbprint", name=op.f("uq_organisation_certificates_thumbprint")),
    )
    op.create_index(
        op.f("ix_organisation_certificates_organisation_id"),
        "organisation_certificates",
        ["organisation_id"],
    )
    op.create_index(
        op.f("ix_organisation_certificates_subject_serial"),
        "organisation_certificates",
        ["subject_serial"],
    )


def downgrade() -> None:
    op.drop_table("organisation_certificates")
