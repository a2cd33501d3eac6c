"""The pure plan functions: calendar months (31 Jan + 1 month), days, the holiday policy
with 调休 make-up days, warranty end and status."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modules.equipment import plans


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
    (date(2026, 1, 31), 3, date(2026, 4, 30)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 1, 31), 36, date(2029, 1, 31)),
])
def test_add_months_clamps_to_the_month_end(start, months, expected):
    assert plans.add_months(start, months) == expected


def test_plan_by_months_counts_from_the_start_not_from_a_short_month():
    assert plans.plan(date(2026, 1, 31), 3, months=1) == [
        date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_plan_by_days():
    assert plans.plan(date(2026, 1, 1), 2, days=90) == [date(2026, 4, 1), date(2026, 6, 30)]
    assert plans.next_maintenance(date(2026, 1, 1)) is None


def test_holiday_policy_uses_the_chinese_calendar_with_make_up_days():
    national_day = date(2026, 10, 1)  # a holiday (Thursday)
    assert not plans.is_workday(national_day)
    moved = plans.adjust_for_holidays(national_day, "next")
    assert moved > national_day and plans.is_workday(moved)
    assert moved == date(2026, 10, 8)  # Golden Week: 1–7 Oct 2026
    assert plans.adjust_for_holidays(national_day, "previous") == date(2026, 9, 30)
    make_up = date(2026, 2, 14)  # a Saturday that is a 调休 working day
    assert make_up.weekday() == 5 and plans.adjust_for_holidays(make_up, "next") == make_up
    assert plans.adjust_for_holidays(date(2026, 10, 1), "none") == date(2026, 10, 1)
    # days plan landing on a holiday: 2026-07-03 + 90 days = 2026-10-01 → 2026-10-08
    assert plans.next_maintenance(date(2026, 7, 3), days=90, policy="next") == date(2026, 10, 8)
    with pytest.raises(ValueError):
        plans.adjust_for_holidays(national_day, "sideways")


def test_years_without_calendar_data_fall_back_to_weekdays():
    saturday = date(2031, 3, 1)
    assert saturday.weekday() == 5
    assert plans.adjust_for_holidays(saturday, "next") == date(2031, 3, 3)


def test_warranty_end_and_status():
    end = plans.warranty_end(date(2026, 1, 31), 13)
    assert end == date(2027, 2, 28)
    assert plans.warranty_status(end, date(2027, 1, 1)) == "in"
    assert plans.warranty_status(end, date(2027, 2, 1)) == "expiring"
    assert plans.warranty_status(end, date(2027, 2, 28)) == "expiring"
    assert plans.warranty_status(end, date(2027, 3, 1)) == "out"
    assert plans.warranty_status(None, date(2027, 3, 1)) is None


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
       st.integers(min_value=0, max_value=240))
def test_add_months_properties(start, months):
    result = plans.add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day <= start.day
    if result.day < start.day:  # clamped: the result is the last day of its month
        assert (result + timedelta(days=1)).day == 1
