"""Portal logins: guardians findable by the parent's pseudonym, consent provenance, and
privacy officers' break-glass reviews.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guardians", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_pseudonym", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_guardians_person_pseudonym"), ["person_pseudonym"], unique=False
        )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_via", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("explanation_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("revoked_via", sa.String(length=128), nullable=True))
    op.create_table(
        "break_glass_reviews",
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_break_glass_reviews_exchange_id_exchanges"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_break_glass_reviews_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("exchange_id", name=op.f("pk_break_glass_reviews")),
    )


def downgrade() -> None:
    op.drop_table("break_glass_reviews")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("revoked_via")
        batch_op.drop_column("explanation_version")
        batch_op.drop_column("answered_via")
    with op.batch_alter_table("guardians", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardians_person_pseudonym"))
        batch_op.drop_column("person_pseudonym")
