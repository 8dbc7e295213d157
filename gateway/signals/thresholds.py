"""When absence becomes a signal to leerplicht (DOMAIN.md, "What the field asks for").

- ``absence``: 16 hours or more of unexcused absence within 4 weeks (any 28 consecutive days);
- ``thuiszitter``: enrolled, but absent without interruption for more than 4 weeks;
- ``not_enrolled``: of compulsory-school age and not enrolled at any school.

The more serious signal wins (not enrolled, then thuiszitter, then absence): one report gives
one signal. Pure functions of the facts and the day of assessment, so tests need no clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

ABSENCE_HOURS = 16
WINDOW = timedelta(days=28)  # 4 weeks
AT_HOME_DAYS = 28  # a thuiszitter is absent *more* than 4 weeks
ALERT_MONTHS = 3  # an exempted child or thuiszitter without a new placement comes back into view


class SignalType(StrEnum):
    ABSENCE = "absence"
    THUISZITTER = "thuiszitter"
    NOT_ENROLLED = "not_enrolled"


@dataclass(frozen=True)
class Absence:
    """Unexcused absence on one day, in hours."""

    day: date
    hours: float


@dataclass(frozen=True)
class Facts:
    """What a school or SWV reports; only unexcused absence counts towards a signal."""

    enrolled: bool = True
    absent_since: date | None = None  # first day of a continuous absence that still lasts
    not_enrolled_since: date | None = None
    unexcused: Sequence[Absence] = ()


@dataclass(frozen=True)
class Signal:
    type: SignalType
    start: date
    end: date | None  # None while it lasts
    unexcused_hours: float | None
    reason: str  # a readable sentence: which threshold, with the numbers

    def payload(self, school: str) -> dict[str, object]:
        """The ``verzuimmelding`` payload: the signal fields, nothing else."""
        period: dict[str, object] = {"from": self.start.isoformat()}
        if self.end is not None:
            period["until"] = self.end.isoformat()
        if self.unexcused_hours is not None:
            period["unexcused_hours"] = self.unexcused_hours
        return {"absence_period": period, "school": school, "signal_type": self.type.value}


def assess(facts: Facts, today: date) -> Signal | None:
    """The signal these facts give on ``today``, or None when no threshold is met."""
    if not facts.enrolled:
        since = facts.not_enrolled_since or today
        return Signal(
            SignalType.NOT_ENROLLED, since, None, None, f"Not enrolled at a school since {since}."
        )
    if facts.absent_since is not None and (today - facts.absent_since).days > AT_HOME_DAYS:
        days = (today - facts.absent_since).days
        return Signal(
            SignalType.THUISZITTER,
            facts.absent_since,
            None,
            None,
            f"Enrolled but absent for {days} days since {facts.absent_since} "
            f"(threshold: more than {AT_HOME_DAYS} days).",
        )
    heaviest = heaviest_window(facts.unexcused)
    if heaviest is not None and heaviest[2] >= ABSENCE_HOURS:
        start, end, hours = heaviest
        return Signal(
            SignalType.ABSENCE,
            start,
            end,
            hours,
            f"{hours:g} hours of unexcused absence between {start} and {end} "
            f"(threshold: {ABSENCE_HOURS} hours in 4 weeks).",
        )
    return None


def heaviest_window(absences: Sequence[Absence]) -> tuple[date, date, float] | None:
    """The 28-day window with the most unexcused hours: (first day, last day with absence,
    hours). Earliest wins a tie. Two pointers over the days in order."""
    days = sorted(absences, key=lambda a: a.day)
    best: tuple[date, date, float] | None = None
    total, first = 0.0, 0
    for absence in days:
        total += absence.hours
        while absence.day - days[first].day >= WINDOW:
            total -= days[first].hours
            first += 1
        if best is None or total > best[2]:
            best = (days[first].day, absence.day, round(total, 2))
    return best


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (30 Nov + 3 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
