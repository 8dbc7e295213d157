"""Privacy officers may leave a work address, and maintenance tells them once when a
break-glass review falls overdue: the address's organisation, the exchange's notice time, and a
third kind of mail.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

KINDS = "'consent_requested', 'informed'"


def upgrade() -> None:
    with op.batch_alter_table("contact_addresses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_contact_addresses_organisation_id"), ["organisation_id"], unique=False
        )
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("break_glass_overdue_notice_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_mail_messages_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_mail_messages_kind"), f"kind IN ({KINDS}, 'review_overdue')"
        )


def downgrade() -> None:
    op.execute("DELETE FROM mail_messages WHERE kind = 'review_overdue'")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_mail_messages_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_mail_messages_kind"), f"kind IN ({KINDS})")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_column("break_glass_overdue_notice_at")
    with op.batch_alter_table("contact_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_addresses_organisation_id"))
        batch_op.drop_column("organisation_id")
