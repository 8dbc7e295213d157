"""The kept policy bundles and the recorded decisions.

``policy_bundles`` is content-addressed: a row's ``version`` is the SHA-256 its files hash to
(:meth:`PolicyBundle.from_files` recomputes it on reading, so an altered row is caught).
``decision_records`` holds what the policy was asked and what it answered: pseudonymous ids,
ages, safety codes, consent facts and guardians' relations; never a BSN or a field value. A
record lives as long as the exchange it belongs to (the exchange record is kept).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db import Base, utcnow
from gateway.policy.commitments import committed
from gateway.policy.decision import digest

if TYPE_CHECKING:
    from gateway.children.models import Child
    from gateway.exchanges.models import Exchange


class PolicyBundleRecord(Base):
    __tablename__ = "policy_bundles"

    version: Mapped[str] = mapped_column(String(80), primary_key=True)
    files: Mapped[dict[str, str]] = mapped_column(JSON)  # relative path -> text
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)


class DecisionRecord(Base):
    __tablename__ = "decision_records"
    __table_args__ = (Index("ix_decision_records_recorded_at", "recorded_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    # The audit entry that committed to this record's input and answer.
    audit_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    exchange_id: Mapped[str | None] = mapped_column(
        ForeignKey("exchanges.id"), default=None, index=True
    )
    child_id: Mapped[str | None] = mapped_column(ForeignKey("children.id"), default=None)
    action: Mapped[str] = mapped_column(String(64))  # the audit entry's action
    package: Mapped[str] = mapped_column(String(64))  # the Rego package asked
    policy_version: Mapped[str] = mapped_column(ForeignKey("policy_bundles.version"))
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Salts and suppliers of the facts committed to in input_hash (ADR 0013); None before.
    commitments: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON, default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def input_hash(self) -> str:
        """What the audit entry carries: SHA-256 of the input with its committed facts hashed."""
        return digest(committed(self.input, self.commitments or {}))

    # Never read through (the ids are set): declared so that one flush writes a new exchange
    # and a new child before the record that names them, whatever order they were added in.
    exchange: Mapped[Exchange | None] = relationship(lazy="raise")
    child: Mapped[Child | None] = relationship(lazy="raise")
