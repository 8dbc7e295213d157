"""Days as people in the Netherlands count them: the end of a picked day, and working days that
skip weekends and Dutch public holidays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.dutch_time import DUTCH_TIME, is_working_day, working_days_after


def dutch(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=DUTCH_TIME).astimezone(UTC)


@pytest.mark.parametrize(
    ("start", "days", "due_day"),
    [
        (dutch(2026, 12, 4), 5, (2026, 12, 11)),  # a Friday: due the next Friday
        (dutch(2026, 12, 5), 1, (2026, 12, 7)),  # a Saturday: Monday is the first working day
        (dutch(2026, 12, 4, 23), 1, (2026, 12, 7)),  # Friday 23:00 Dutch time is still Friday
        (dutch(2026, 12, 22), 5, (2026, 12, 30)),  # Christmas Day (a Friday) skipped
        (dutch(2026, 4, 24), 1, (2026, 4, 28)),  # King's Day (Monday 27 April) skipped
        (dutch(2026, 5, 13), 1, (2026, 5, 15)),  # Ascension Day skipped
    ],
)
def test_a_deadline_in_working_days_ends_at_the_end_of_the_last_one(
    start: datetime, days: int, due_day: tuple[int, int, int]
) -> None:
    due = working_days_after(start, days).astimezone(DUTCH_TIME)

    assert (due.year, due.month, due.day) == due_day
    assert (due.hour, due.minute, due.second) == (23, 59, 59)
    assert is_working_day(due.date())
