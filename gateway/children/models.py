"""A child as the gateway knows it: a pseudonym, a birth date for the age rules, a safety code."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

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

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday
