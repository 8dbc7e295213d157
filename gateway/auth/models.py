"""Client assertions already used, so a captured assertion cannot be replayed (RFC 7523 §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base


class UsedClientAssertion(Base):
    __tablename__ = "used_client_assertions"

    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Kept until the assertion itself expires; after that its exp check refuses it anyway.
    expires_at: Mapped[datetime] = mapped_column(index=True)
