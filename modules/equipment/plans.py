"""Maintenance plans and warranty dates: pure functions of dates (no database, no clock).

``add_months(date(2026, 1, 31), 1)`` is 28 February 2026 (the month's last day when the
day does not exist); a plan by calendar months counts from the *start* date each time, so
31 Jan → 28 Feb → 31 Mar (not 28 Mar). The holiday policy moves a date that is not a
working day in mainland China to the previous or next working day, using
``chinese_calendar`` (public holidays and 调休 make-up working days, e.g. Saturday
14 February 2026 is a working day); for years the calendar does not know yet, Monday to
Friday are working days.
"""

from __future__ import annotations

import calendar
from datetime import date
from datetime import timedelta

HOLIDAY_POLICIES = {"none": "不调整", "previous": "提前到上一个工作日",
                    "next": "顺延到下一个工作日"}
EXPIRING_DAYS = 30


def add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, clamped to the end of the target month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def is_workday(day: date) -> bool:
    """A working day in mainland China (holidays and 调休 make-up days known)."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the calendar has no data for yet
        return day.weekday() < 5


def adjust_for_holidays(day: date, policy: str = "none") -> date:
    """``day`` moved to the previous or next working day when it is not one."""
    if policy not in HOLIDAY_POLICIES:
        raise ValueError(f"unknown holiday policy {policy!r}")
    if policy == "none":
        return day
    step = timedelta(days=-1 if policy == "previous" else 1)
    for _ in range(40):  # the longest holiday is nine days: a safe bound
        if is_workday(day):
            return day
        day += step
    return day


def next_maintenance(last: date, *, days: int = 0, months: int = 0,
                     policy: str = "none") -> date | None:
    """The next maintenance after ``last``: by ``months`` calendar months when given, else
    by ``days``; None when the unit has no plan (both 0). The holiday policy applies to the
    result only (the plan keeps counting from ``last``)."""
    if months < 0 or days < 0:
        raise ValueError("a maintenance cycle cannot be negative")
    if months:
        due = add_months(last, months)
    elif days:
        due = last + timedelta(days=days)
    else:
        return None
    return adjust_for_holidays(due, policy)


def plan(start: date, count: int, *, days: int = 0, months: int = 0,
         policy: str = "none") -> list[date]:
    """The next ``count`` maintenance dates from ``start``. By months each date is counted
    from ``start`` (31 Jan, 28 Feb, 31 Mar …) so a short month does not shift the rest."""
    out: list[date] = []
    for n in range(1, count + 1):
        if months:
            due = add_months(start, months * n)
        elif days:
            due = start + timedelta(days=days * n)
        else:
            return out
        out.append(adjust_for_holidays(due, policy))
    return out


def warranty_end(install_date: date | None, warranty_months: int) -> date | None:
    """The last day of the warranty: the install date plus the months (clamped)."""
    if install_date is None:
        return None
    return add_months(install_date, max(int(warranty_months or 0), 0))


def warranty_status(end: date | None, today: date,
                    expiring_days: int = EXPIRING_DAYS) -> str | None:
    """``in``, ``expiring`` (ends within ``expiring_days``) or ``out``; None without a date."""
    if end is None:
        return None
    if end < today:
        return "out"
    if end <= today + timedelta(days=expiring_days):
        return "expiring"
    return "in"
