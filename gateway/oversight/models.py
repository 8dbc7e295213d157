"""A privacy officer's review of a break-glass exchange (DOMAIN.md rule 6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, utcnow


class BreakGlassReview(Base):
    __tablename__ = "break_glass_reviews"

    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"), primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(128))  # pseudonymous login reference
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    note: Mapped[str] = mapped_column(Text)
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)
