"""The staff members an organisation has authorised to act through its API client."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, utcnow


class StaffMember(Base):
    """A person at an organisation, known here by the organisation's own pseudonymous id.

    A removed member keeps its row (``removed_at``): audit entries name the id, and the id
    cannot be given to someone else while those entries exist."""

    __tablename__ = "staff_members"

    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_registered(self) -> bool:
        return self.removed_at is None
