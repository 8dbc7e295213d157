"""The statistics of school years that have closed, stored as they stood when each closed.

A year's counts are built from the gateway's own records, and the records of signals and
exemptions do not stay (:mod:`gateway.signals.retention`). So when a school year has ended, the
maintenance run stores its suppressed table here, and from then on this is the answer for that
year: its figures stop changing, whatever is recorded or erased afterwards. The cells hold
counts only, already suppressed; nothing here names a child or an organisation's case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base


class StatisticsSnapshot(Base):
    """One closed school year: its regions and its cells (table, category, region, period,
    count, with ``None`` for a suppressed count)."""

    __tablename__ = "statistics_snapshots"

    school_year: Mapped[str] = mapped_column(String(9), primary_key=True)  # "2025-2026"
    threshold: Mapped[int]
    regions: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    cells: Mapped[list[list[Any]]] = mapped_column(JSON)
    closed_at: Mapped[datetime]
