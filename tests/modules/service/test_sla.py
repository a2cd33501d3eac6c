"""The SLA calendar (issue 18 acceptance): working intervals with a lunch break, holidays,
调休 make-up days and pauses — a pure function, tested on fixed dates."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest

from modules.service.sla import WorkCalendar
from modules.service.sla import add_working_time
from modules.service.sla import chinese_workday
from modules.service.sla import deadline_utc
from modules.service.sla import parse_intervals
from modules.service.sla import to_local

FRIDAY = datetime(2026, 3, 6, 17, 0)  # a Friday
MONDAY = date(2026, 3, 9)


def calendar(holidays=(), makeup=()):
    def is_workday(day):
        if day in makeup:
            return True
        if day in holidays:
            return False
        return day.weekday() < 5

    return WorkCalendar(parse_intervals([["09:00", "12:00"], ["13:30", "18:00"]]), is_workday)


def test_five_hours_from_friday_afternoon_end_monday_after_lunch():
    assert add_working_time(calendar(), FRIDAY, timedelta(hours=5)) == datetime(2026, 3, 9, 14, 30)


def test_a_monday_holiday_moves_it_to_tuesday():
    cal = calendar(holidays={MONDAY})
    assert add_working_time(cal, FRIDAY, timedelta(hours=5)) == datetime(2026, 3, 10, 14, 30)


def test_a_makeup_saturday_counts_as_a_working_day():
    cal = calendar(makeup={date(2026, 3, 7)})
    assert add_working_time(cal, FRIDAY, timedelta(hours=5)) == datetime(2026, 3, 7, 14, 30)


def test_a_pause_inside_working_hours_moves_the_deadline_by_exactly_its_length():
    cal = calendar()
    start = datetime(2026, 3, 9, 9, 0)
    plain = add_working_time(cal, start, timedelta(hours=5))
    assert plain == datetime(2026, 3, 9, 15, 30)
    paused = add_working_time(cal, start, timedelta(hours=5),
                              [(datetime(2026, 3, 9, 9, 30), datetime(2026, 3, 9, 11, 30))])
    assert cal.working_between(plain, paused) == timedelta(hours=2)
    assert paused == datetime(2026, 3, 9, 17, 30)


def test_a_pause_outside_working_hours_does_not_move_it():
    cal = calendar()
    pauses = [(datetime(2026, 3, 6, 19, 0), datetime(2026, 3, 6, 21, 0)),
              (datetime(2026, 3, 9, 12, 0), datetime(2026, 3, 9, 13, 30))]
    assert add_working_time(cal, FRIDAY, timedelta(hours=5), pauses) == datetime(2026, 3, 9, 14, 30)


def test_a_start_outside_working_hours_begins_at_the_next_window():
    cal = calendar()
    assert add_working_time(cal, datetime(2026, 3, 9, 12, 10), timedelta(minutes=30)) == \
        datetime(2026, 3, 9, 14, 0)
    assert add_working_time(cal, datetime(2026, 3, 7, 8, 0), timedelta(minutes=1)) == \
        datetime(2026, 3, 9, 9, 1)


def test_the_chinese_calendar_knows_holidays_and_makeup_days():
    assert chinese_workday(date(2026, 1, 1)) is False  # 元旦
    assert chinese_workday(date(2026, 1, 4)) is True  # a Sunday, 调休 working day
    assert chinese_workday(date(2026, 10, 1)) is False  # 国庆
    assert chinese_workday(date(2090, 1, 2)) is True  # beyond the library: Monday–Friday


def test_intervals_are_validated():
    with pytest.raises(ValueError):
        parse_intervals([["12:00", "09:00"]])
    with pytest.raises(ValueError):
        parse_intervals([["09:00", "12:00"], ["11:00", "13:00"]])


def test_utc_edges():
    cal = calendar()
    start = datetime(2026, 3, 6, 9, 0)  # 17:00 in Shanghai
    from datetime import UTC

    due = deadline_utc(cal, start.replace(tzinfo=UTC), 300)
    assert to_local(due) == datetime(2026, 3, 9, 14, 30)
