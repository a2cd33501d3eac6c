"""Working-time arithmetic for SLA deadlines: a pure function over a calendar.

A :class:`WorkCalendar` has working intervals per day (``09:00–12:00`` and ``13:30–18:00``:
a lunch break) and a ``is_workday(date)`` function. The default one comes from the
``chinese_calendar`` library (public holidays and the 调休 make-up working days, which may
fall on a Saturday or Sunday); tests inject their own. Times are local (Asia/Shanghai),
naive; :func:`deadline_utc` converts at the edges.

``add_working_time(cal, start, duration, pauses)`` is the moment at which ``duration`` of
working time has elapsed since ``start``, not counting the ``pauses`` (waiting for the
customer or for parts): a pause inside working hours moves the deadline by exactly its
working time, a pause outside working hours does not move it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
DEFAULT_INTERVALS = ((time(9, 0), time(12, 0)), (time(13, 30), time(18, 0)))
MAX_DAYS = 3660  # never loop forever on a calendar without working days


def chinese_workday(day: date) -> bool:
    """Working day by ``chinese_calendar`` (holidays off, 调休 days on); outside the years the
    library knows, Monday to Friday."""
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (ImportError, NotImplementedError):
        return day.weekday() < 5


def parse_intervals(spec: Iterable[Iterable[str]] | None) -> tuple[tuple[time, time], ...]:
    """``[["09:00", "12:00"], ["13:30", "18:00"]]`` → sorted, validated intervals."""
    if not spec:
        return DEFAULT_INTERVALS
    out = []
    for pair in spec:
        start, end = (time.fromisoformat(str(v)) for v in pair)
        if end <= start:
            raise ValueError(f"working interval {start}–{end} ends before it starts")
        out.append((start, end))
    out.sort()
    for (_s1, e1), (s2, _e2) in itertools.pairwise(out):
        if s2 < e1:
            raise ValueError("working intervals overlap")
    return tuple(out)


@dataclass(frozen=True)
class WorkCalendar:
    intervals: tuple[tuple[time, time], ...] = DEFAULT_INTERVALS
    is_workday: Callable[[date], bool] = chinese_workday

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working windows of ``day`` (none on a day off)."""
        if not self.is_workday(day):
            return []
        return [(datetime.combine(day, s), datetime.combine(day, e)) for s, e in self.intervals]

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside ``[start, end)``."""
        total = timedelta()
        if end <= start:
            return total
        day = start.date()
        while day <= end.date():
            for ws, we in self.windows(day):
                lo, hi = max(ws, start), min(we, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def _merge(pauses: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for s, e in sorted((s, e) for s, e in pauses if e > s):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def add_working_time(cal: WorkCalendar, start: datetime, duration: timedelta,
                     pauses: Iterable[tuple[datetime, datetime]] = ()) -> datetime:
    """The moment ``duration`` of working time, minus paused time, has elapsed from ``start``."""
    remaining = duration
    paused = _merge(pauses)
    day = start.date()
    for _ in range(MAX_DAYS):
        for ws, we in cal.windows(day):
            lo = max(ws, start)
            if we <= lo:
                continue
            # Split the window by the pauses: only the unpaused pieces count.
            pieces = [(lo, we)]
            for ps, pe in paused:
                nxt = []
                for a, b in pieces:
                    if pe <= a or ps >= b:
                        nxt.append((a, b))
                        continue
                    if ps > a:
                        nxt.append((a, ps))
                    if pe < b:
                        nxt.append((pe, b))
                pieces = nxt
            for a, b in pieces:
                if b - a >= remaining:
                    return a + remaining
                remaining -= b - a
        day += timedelta(days=1)
    raise ValueError("no working time in the calendar within ten years")


def to_local(moment: datetime) -> datetime:
    """A UTC datetime (aware or naive) as naive Asia/Shanghai time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL).replace(tzinfo=None)


def to_utc(local: datetime) -> datetime:
    """Naive Asia/Shanghai time as an aware UTC datetime."""
    return local.replace(tzinfo=LOCAL).astimezone(UTC)


def deadline_utc(cal: WorkCalendar, start_utc: datetime, minutes: int,
                 pauses_utc: Iterable[tuple[datetime, datetime]] = ()) -> datetime:
    """:func:`add_working_time` for UTC instants."""
    local_pauses = [(to_local(s), to_local(e)) for s, e in pauses_utc]
    return to_utc(add_working_time(cal, to_local(start_utc), timedelta(minutes=minutes),
                                   local_pauses))


def aware_utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite gives them back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def working_minutes(cal: WorkCalendar, start: datetime, end: datetime,
                    pauses: Iterable[tuple[datetime, datetime]] = ()) -> float:
    """Working minutes between two UTC instants, not counting the working time inside
    ``pauses`` (UTC pairs, overlapping ones merged)."""
    lo, hi = to_local(start), to_local(end)
    total = cal.working_between(lo, hi)
    merged = _merge((max(to_local(s), lo), min(to_local(e), hi)) for s, e in pauses)
    for ps, pe in merged:
        total -= cal.working_between(ps, pe)
    return max(total, timedelta()).total_seconds() / 60.0


def stored_pauses(raw: Iterable[Iterable[str | None]] | None,
                  until: datetime | None) -> list[tuple[datetime, datetime]]:
    """A ticket's ``sla_pauses`` (ISO text pairs, the last one open while paused) as UTC
    pairs, an open one ending at ``until`` (left out when ``until`` is None)."""
    out = []
    for pair in raw or []:
        items = list(pair)
        start, end = items[0], items[1] if len(items) > 1 else None
        stop = aware_utc(datetime.fromisoformat(end)) if end else until
        if stop is not None:
            out.append((aware_utc(datetime.fromisoformat(start)), aware_utc(stop)))
    return out


def ticket_minutes(cal: WorkCalendar, created: datetime, responded: datetime | None,
                   resolved: datetime | None, pauses: Iterable[Iterable[str | None]] | None
                   ) -> tuple[float | None, float | None]:
    """A ticket's first response and resolution in working minutes (None while not
    answered / not resolved): the response from creation, the resolution from creation
    less the working time of its SLA pauses (waiting for the customer or for parts)."""
    created = aware_utc(created)
    response = resolution = None
    if responded is not None:
        response = working_minutes(cal, created, aware_utc(responded))
    if resolved is not None:
        resolved = aware_utc(resolved)
        resolution = working_minutes(cal, created, resolved, stored_pauses(pauses, resolved))
    return response, resolution
