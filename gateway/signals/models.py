"""The gateway's own record of signals, exemptions and alerts: facts it needs for the at-home
alerts and the statistics. A child appears only as its row id (the row holds a keyed pseudonym,
never a BSN); what was delivered lives, sealed, in the exchange's payload."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, str_enum, utcnow
from gateway.signals.thresholds import SignalType


def _id() -> str:
    return str(uuid.uuid4())


class AbsenceSignal(Base):
    """A signal delivered to leerplicht: which type, for which gemeente, since when."""

    __tablename__ = "absence_signals"
    __table_args__ = (
        CheckConstraint(
            "signal_type IN ('absence', 'thuiszitter', 'not_enrolled')", name="signal_type"
        ),
        # A school system that sends the same report again gets the same signal back.
        UniqueConstraint("child_id", "reporter_id", "signal_type", "since"),
        Index("ix_absence_signals_reported_at", "reported_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_id)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"), unique=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    reporter_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    leerplicht_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    gemeente_code: Mapped[str] = mapped_column(String(6))
    signal_type: Mapped[SignalType] = mapped_column(str_enum(SignalType))
    since: Mapped[date]
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Exemption(Base):
    """That a child is exempted from leerplicht, on which article, until when. Never why: there
    is no column for a reason, and the API refuses one."""

    __tablename__ = "exemptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_id)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    leerplicht_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    gemeente_code: Mapped[str] = mapped_column(String(6))
    article: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AtHomeAlert(Base):
    """A child who has been exempted or at home for three months without a new school place,
    brought back into view of one organisation (leerplicht, or the SWV of the region)."""

    __tablename__ = "at_home_alerts"
    __table_args__ = (
        CheckConstraint("cause IN ('exemption', 'thuiszitter')", name="cause"),
        # The daily job is idempotent: one alert per cause and recipient, however often it runs.
        UniqueConstraint("cause_id", "recipient_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_id)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    leerplicht_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    gemeente_code: Mapped[str] = mapped_column(String(6))
    cause: Mapped[str] = mapped_column(String(16))
    cause_id: Mapped[str] = mapped_column(String(36))  # the signal or the exemption
    case_reference: Mapped[str] = mapped_column(String(36))  # what leerplicht knows it by
    since: Mapped[date]
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
