"""Leerplicht signals, exemption facts, at-home alerts, and the regions of SWVs (with each
organisation's gemeente) that place counts in a region. Existing leerplicht offices get their
gemeente from their identifier, which is their gemeentecode.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "at_home_alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("leerplicht_id", sa.String(length=36), nullable=False),
        sa.Column("gemeente_code", sa.String(length=6), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("cause_id", sa.String(length=36), nullable=False),
        sa.Column("case_reference", sa.String(length=36), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cause IN ('exemption', 'thuiszitter')", name=op.f("ck_at_home_alerts_cause")
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_at_home_alerts_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["leerplicht_id"],
            ["organisations.id"],
            name=op.f("fk_at_home_alerts_leerplicht_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["organisations.id"],
            name=op.f("fk_at_home_alerts_recipient_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_at_home_alerts")),
        sa.UniqueConstraint(
            "cause_id", "recipient_id", name=op.f("uq_at_home_alerts_cause_id_recipient_id")
        ),
    )
    with op.batch_alter_table("at_home_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_at_home_alerts_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_at_home_alerts_recipient_id"), ["recipient_id"], unique=False
        )

    op.create_table(
        "exemptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("leerplicht_id", sa.String(length=36), nullable=False),
        sa.Column("gemeente_code", sa.String(length=6), nullable=False),
        sa.Column("article", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_exemptions_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["leerplicht_id"],
            ["organisations.id"],
            name=op.f("fk_exemptions_leerplicht_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemptions")),
    )
    with op.batch_alter_table("exemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exemptions_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_exemptions_leerplicht_id"), ["leerplicht_id"], unique=False
        )

    op.create_table(
        "swv_region_gemeenten",
        sa.Column("swv_id", sa.String(length=36), nullable=False),
        sa.Column("gemeente_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["swv_id"],
            ["organisations.id"],
            name=op.f("fk_swv_region_gemeenten_swv_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("swv_id", "gemeente_code", name=op.f("pk_swv_region_gemeenten")),
    )
    with op.batch_alter_table("swv_region_gemeenten", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_swv_region_gemeenten_gemeente_code"), ["gemeente_code"], unique=False
        )

    op.create_table(
        "absence_signals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.String(length=36), nullable=False),
        sa.Column("leerplicht_id", sa.String(length=36), nullable=False),
        sa.Column("gemeente_code", sa.String(length=6), nullable=False),
        sa.Column("signal_type", sa.String(length=16), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "signal_type IN ('absence', 'thuiszitter', 'not_enrolled')",
            name=op.f("ck_absence_signals_signal_type"),
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_absence_signals_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name=op.f("fk_absence_signals_exchange_id_exchanges")
        ),
        sa.ForeignKeyConstraint(
            ["leerplicht_id"],
            ["organisations.id"],
            name=op.f("fk_absence_signals_leerplicht_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["organisations.id"],
            name=op.f("fk_absence_signals_reporter_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence_signals")),
        sa.UniqueConstraint(
            "child_id",
            "reporter_id",
            "signal_type",
            "since",
            name=op.f("uq_absence_signals_child_id_reporter_id_signal_type_since"),
        ),
        sa.UniqueConstraint("exchange_id", name=op.f("uq_absence_signals_exchange_id")),
    )
    with op.batch_alter_table("absence_signals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_absence_signals_child_id"), ["child_id"], unique=False)
        batch_op.create_index("ix_absence_signals_reported_at", ["reported_at"], unique=False)

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gemeente_code", sa.String(length=6), nullable=True))
    op.execute("UPDATE organisations SET gemeente_code = identifier WHERE role = 'leerplicht'")


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("gemeente_code")

    with op.batch_alter_table("absence_signals", schema=None) as batch_op:
        batch_op.drop_index("ix_absence_signals_reported_at")
        batch_op.drop_index(batch_op.f("ix_absence_signals_child_id"))

    op.drop_table("absence_signals")
    with op.batch_alter_table("swv_region_gemeenten", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_swv_region_gemeenten_gemeente_code"))

    op.drop_table("swv_region_gemeenten")
    with op.batch_alter_table("exemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exemptions_leerplicht_id"))
        batch_op.drop_index(batch_op.f("ix_exemptions_child_id"))

    op.drop_table("exemptions")
    with op.batch_alter_table("at_home_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_at_home_alerts_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_at_home_alerts_child_id"))

    op.drop_table("at_home_alerts")
