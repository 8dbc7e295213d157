"""Time as people in the Netherlands count it: the end of a day they picked, and deadlines in
working days (Monday to Friday, except public holidays, from the ``holidays`` package)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
_HOLIDAYS = holidays.country_holidays("NL")


def end_of_day(day: date) -> datetime:
    """The last moment of a day a person picked, in the Netherlands (UTC): a consent "until 30
    June" holds through 30 June 23:59:59 Dutch time, summer or winter, and not into 1 July."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=DUTCH_TIME)
    return (next_midnight - timedelta(microseconds=1)).astimezone(UTC)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _HOLIDAYS


def working_days_after(moment: datetime, days: int) -> datetime:
    """The end of the ``days``-th working day after the Dutch day of ``moment``: something that
    happens on a Friday afternoon with 5 working days is due at the end of the next Friday."""
    day = moment.astimezone(DUTCH_TIME).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        counted += is_working_day(day)
    return end_of_day(day)
