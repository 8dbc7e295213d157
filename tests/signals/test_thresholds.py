"""The thresholds that turn absence into a signal, at their edges (pure; no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gateway.signals.thresholds import (
    Absence,
    Facts,
    SignalType,
    add_months,
    assess,
    heaviest_window,
)

TODAY = date(2026, 11, 23)


def days_ago(*days: int, hours: float = 4) -> list[Absence]:
    return [Absence(TODAY - timedelta(days=d), hours) for d in days]


def test_sixteen_hours_within_four_weeks_is_an_absence_signal() -> None:
    signal = assess(Facts(unexcused=days_ago(0, 7, 14, 27)), TODAY)  # 4 x 4 h over 28 days
    assert signal is not None and signal.type is SignalType.ABSENCE
    assert signal.unexcused_hours == 16
    assert (signal.start, signal.end) == (TODAY - timedelta(days=27), TODAY)
    assert "16 hours" in signal.reason


def test_fifteen_and_a_half_hours_is_not() -> None:
    absences = [*days_ago(0, 7, 14), *days_ago(21, hours=3.5)]
    assert assess(Facts(unexcused=absences), TODAY) is None


def test_sixteen_hours_spread_over_29_days_is_not() -> None:
    assert assess(Facts(unexcused=days_ago(0, 7, 14, 28)), TODAY) is None


def test_the_heaviest_window_is_found_anywhere_in_the_history() -> None:
    absences = [*days_ago(100, 95, 90, 80), *days_ago(60, 30, hours=1)]
    start, end, hours = heaviest_window(absences) or (None, None, 0)
    assert (start, end, hours) == (TODAY - timedelta(days=100), TODAY - timedelta(days=80), 16)


@pytest.mark.parametrize(("days", "expected"), [(28, None), (29, SignalType.THUISZITTER)])
def test_thuiszitter_means_absent_more_than_four_weeks(
    days: int, expected: SignalType | None
) -> None:
    signal = assess(Facts(absent_since=TODAY - timedelta(days=days)), TODAY)
    assert (signal.type if signal else None) is expected


def test_not_enrolled_is_a_signal_of_its_own_and_outranks_the_others() -> None:
    facts = Facts(
        enrolled=False,
        not_enrolled_since=date(2026, 9, 1),
        absent_since=TODAY - timedelta(days=60),
        unexcused=days_ago(1, 2, 3, 4, 5),
    )
    signal = assess(facts, TODAY)
    assert signal is not None and signal.type is SignalType.NOT_ENROLLED
    assert signal.start == date(2026, 9, 1)


def test_thuiszitter_outranks_absence() -> None:
    facts = Facts(absent_since=TODAY - timedelta(days=40), unexcused=days_ago(1, 2, 3, 4, 5))
    signal = assess(facts, TODAY)
    assert signal is not None and signal.type is SignalType.THUISZITTER


def test_the_payload_carries_the_signal_fields_only() -> None:
    signal = assess(Facts(unexcused=days_ago(1, 2, 3, 4)), TODAY)
    assert signal is not None
    payload = signal.payload(school="12AB De Regenboog")
    assert set(payload) == {"absence_period", "school", "signal_type"}
    assert payload["absence_period"] == {
        "from": str(TODAY - timedelta(days=4)),
        "until": str(TODAY - timedelta(days=1)),
        "unexcused_hours": 16,
    }


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 8, 15), 3, date(2026, 11, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2026, 12, 31), -3, date(2026, 9, 30)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected
