"""A child as the gateway knows it: a pseudonym, a birth date for the age rules, a safety code,
and the guardians whose consent the age rules may need."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from audit.tables import child_refs
from gateway.db import Base, str_enum, utcnow
from gateway.policy.decision import SafetyCode


class Child(Base):
    __tablename__ = "children"
    __table_args__ = (
        CheckConstraint("safety_code IN ('groen', 'oranje', 'rood')", name="safety_code"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    # HMAC-SHA256 of the BSN under the gateway's pseudonymisation key; never the BSN itself.
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    # Needed for the consent rules by age (under 12, 12 to 15, 16 and older).
    birth_date: Mapped[date] = mapped_column(Date)
    safety_code: Mapped[SafetyCode | None] = mapped_column(str_enum(SafetyCode), default=None)
    safety_code_set_by: Mapped[str | None] = mapped_column(String(36), default=None)
    safety_code_set_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The random reference the audit log names the child by, loaded with the child rather than
    # by a statement of its own; None until the log first names the child.
    log_reference: Mapped[str | None] = column_property(
        select(child_refs.c.ref)
        .where(child_refs.c.pseudonym == pseudonym)
        .correlate_except(child_refs)
        .scalar_subquery()
    )

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday


class Guardian(Base):
    """A parent or guardian of a child, as the organisations that know the family record them.

    Consent and notices name a guardian by this random id, never by name. ``restricted`` marks a
    parent who is never asked and never shown anything (DOMAIN.md rule 4); ``accompanying`` is
    the parent who is with the child in a shelter. A portal login links here through
    ``person_pseudonym``: one person has one row per child.
    """

    __tablename__ = "guardians"
    __table_args__ = (UniqueConstraint("child_id", "relation"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    relation: Mapped[str] = mapped_column(String(32))  # e.g. moeder, vader, voogd
    gezag: Mapped[bool] = mapped_column(Boolean)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    accompanying: Mapped[bool] = mapped_column(Boolean, default=False)
    # Keyed pseudonym of the parent's own BSN, when the organisation recorded it: how a portal
    # login (DigiD gives the BSN) finds this row. Never the BSN itself.
    person_pseudonym: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    recorded_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
