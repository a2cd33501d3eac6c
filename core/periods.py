"""Reporting periods for the overview and the analytics pages: quick ranges 本周 / 本月 /
本季 / 本年 (each up to today), or any dates, and the previous period to compare with.

The previous period of a quick range is the same stretch of the previous week / month /
quarter / year (1–5 December against 1–5 November); of chosen dates, as many days right
before. Days are local (Asia/Shanghai); ``start`` and ``end`` are aware datetimes, the
period being ``[start, end)``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
RANGES = {"week": "本周", "month": "本月", "quarter": "本季", "year": "本年"}


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # inclusive
    prev_first_day: date
    prev_last_day: date
    name: str | None = None  # the quick range, None for chosen dates

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, LOCAL)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time.min, LOCAL)

    @property
    def prev_start(self) -> datetime:
        return datetime.combine(self.prev_first_day, time.min, LOCAL)

    @property
    def prev_end(self) -> datetime:
        return datetime.combine(self.prev_last_day + timedelta(days=1), time.min, LOCAL)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def _shift_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (the last day of a shorter month when it has no such
    day: 31 March − 1 month = 28/29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def quick_period(name: str, today: date) -> Period | None:
    """本周 / 本月 / 本季 / 本年 up to ``today`` and the same stretch one unit earlier; None
    for an unknown name."""
    if name == "week":
        first = today - timedelta(days=today.weekday())
        return Period(first, today, first - timedelta(days=7), today - timedelta(days=7), name)
    months = {"month": 1, "quarter": 3, "year": 12}.get(name)
    if months is None:
        return None
    if name == "month":
        first = today.replace(day=1)
    elif name == "quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    else:
        first = today.replace(month=1, day=1)
    prev_first = _shift_months(first, -months)
    prev_last = min(_shift_months(today, -months), first - timedelta(days=1))
    return Period(first, today, prev_first, prev_last, name)


def custom_period(first: date, last: date) -> Period:
    """Chosen dates (swapped when reversed) and as many days right before them."""
    if last < first:
        first, last = last, first
    length = (last - first).days + 1
    return Period(first, last, first - timedelta(days=length), first - timedelta(days=1))


def parse_period(args: dict | object, today: date, default: str = "month") -> Period:
    """``?range=week|month|quarter|year`` or ``?from=&to=`` (ISO dates); ``default`` when
    neither is given or they do not parse."""
    get = args.get  # type: ignore[attr-defined]
    chosen = quick_period(get("range") or "", today)
    if chosen is not None:
        return chosen
    try:
        first = date.fromisoformat(get("from") or "")
        last = date.fromisoformat(get("to") or "")
    except ValueError:
        return quick_period(default, today)  # type: ignore[return-value]
    return custom_period(first, last)


def local_today(now: datetime) -> date:
    return now.astimezone(LOCAL).date()


def day_start(value: str) -> datetime:
    """A list filter's ``YYYY-MM-DD`` as the first moment of that local day."""
    return datetime.combine(date.fromisoformat(value), time.min, LOCAL)


def day_end(value: str) -> datetime:
    """A list filter's ``YYYY-MM-DD`` as the last moment of that local day."""
    return day_start(value) + timedelta(days=1) - timedelta(microseconds=1)
