"""Service analytics (售后服务分析): response and resolution times in working time (median
and p90) by type, priority, engineer and period; satisfaction (answers only) and reopen
rate; failure analysis by brand, model and cause with the parts consumed; engineer
performance. Every read goes through the tickets' record rules (``ctx.scoped``).

Working time is the SLA's calendar (:func:`modules.service.services.sla.calendar`, the
``service.working_hours`` setting and the Chinese public holidays): a ticket opened on
Friday at 17:00 and answered on Monday at 09:30 took 90 working minutes. Paused spans
(waiting for the customer or for parts) do not count towards the resolution time, as for
the SLA.
"""

from __future__ import annotations

import math
from collections import Counter
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.hooks import call
from core.security.models import User
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.service.models import Visit
from modules.service.sla import WorkCalendar
from modules.service.sla import to_local

SATISFIED = 4  # a score of 4 or 5 (of 5) counts as satisfied (CSAT)
TOP = 10


# ------------------------------------------------------------------------- statistics
def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0–1) by linear interpolation between the closest ranks (as
    numpy's default and Excel's PERCENTILE.INC); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Count, median and p90 of durations in minutes."""
    return {"n": len(values), "median": percentile(values, 0.5),
            "p90": percentile(values, 0.9)}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def working_minutes(cal: WorkCalendar, start: datetime, end: datetime,
                    pauses: Iterable[tuple[datetime, datetime]] = ()) -> float:
    """Working minutes between two UTC instants, not counting the working time inside
    ``pauses`` (UTC pairs, overlapping ones merged)."""
    lo, hi = to_local(start), to_local(end)
    total = cal.working_between(lo, hi)
    merged: list[tuple[datetime, datetime]] = []
    for ps, pe in sorted((max(to_local(s), lo), min(to_local(e), hi)) for s, e in pauses):
        if pe <= ps:
            continue
        if merged and ps <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], pe))
        else:
            merged.append((ps, pe))
    for ps, pe in merged:
        total -= cal.working_between(ps, pe)
    return max(total, timedelta()).total_seconds() / 60.0


def _pauses(raw: Any, until: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    for pair in raw or []:
        start, end = pair[0], pair[1] if len(pair) > 1 else None
        s = _aware(datetime.fromisoformat(start))
        e = _aware(datetime.fromisoformat(end)) if end else until
        out.append((s, e))
    return out


# ------------------------------------------------------------------------ the tickets
def _scoped(ctx: ServiceContext, *columns: Any) -> Any:
    ctx.require("service.ticket.read")
    return ctx.scoped(select(*columns).select_from(Ticket), Ticket)


def bucket_of(moment: datetime, weekly: bool) -> str:
    """The period bucket of an instant: ``2026-W49`` (ISO week) or ``2026-12``."""
    local = to_local(moment)
    if weekly:
        year, week, _day = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m")


def ticket_times(ctx: ServiceContext, start: datetime, end: datetime,
                 cal: WorkCalendar) -> list[dict[str, Any]]:
    """The tickets created in ``[start, end)``: first response and resolution in working
    minutes (None while not answered / not resolved)."""
    weekly = (end - start) <= timedelta(days=62)
    # The calendar's day lookups (chinese_calendar) are the bulk of the work: once a day.
    cal = WorkCalendar(cal.intervals, lru_cache(maxsize=None)(cal.is_workday))
    stmt = _scoped(ctx, Ticket.id, Ticket.ticket_type, Ticket.priority, Ticket.assignee_id,
                   Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at,
                   Ticket.sla_pauses).where(Ticket.created_at >= start,
                                            Ticket.created_at < end)
    rows = []
    for tid, kind, priority, assignee, created, responded, resolved, pauses in \
            db.session.execute(stmt):
        created = _aware(created)
        response = resolution = None
        if responded is not None:
            response = working_minutes(cal, created, _aware(responded))
        if resolved is not None:
            resolved = _aware(resolved)
            resolution = working_minutes(cal, created, resolved, _pauses(pauses, resolved))
        rows.append({"id": tid, "ticket_type": kind, "priority": priority,
                     "assignee_id": assignee, "period": bucket_of(created, weekly),
                     "response": response, "resolution": resolution})
    return rows


def times_by(rows: list[dict[str, Any]], key: str,
             label: Callable[[Any], str] = str) -> list[dict[str, Any]]:
    """Response and resolution summaries per value of ``key`` (most tickets first; periods
    in order)."""
    groups: dict[Any, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    out = []
    for value, members in groups.items():
        out.append({
            "key": value, "label": label(value), "tickets": len(members),
            "response": summary([r["response"] for r in members if r["response"] is not None]),
            "resolution": summary([r["resolution"] for r in members
                                   if r["resolution"] is not None]),
        })
    if key == "period":
        return sorted(out, key=lambda g: g["key"])
    return sorted(out, key=lambda g: (-g["tickets"], str(g["label"])))


def user_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


# ----------------------------------------------------------------------- satisfaction
def satisfaction(ctx: ServiceContext, start: datetime, end: datetime) -> dict[str, Any]:
    """Ratings given in ``[start, end)`` (answers only: an unanswered survey is not a
    rating): their number, average and CSAT (share of 4 and 5); of the tickets resolved in
    the period, the share reopened since."""
    rated = _scoped(ctx, Ticket.rating, func.count()).where(
        Ticket.rating.is_not(None), Ticket.rated_at >= start, Ticket.rated_at < end
    ).group_by(Ticket.rating)
    scores = {int(score): int(n) for score, n in db.session.execute(rated)}
    answers = sum(scores.values())
    resolved = _scoped(ctx, Ticket.id).where(Ticket.resolved_at >= start,
                                             Ticket.resolved_at < end).subquery()
    n_resolved = db.session.scalar(select(func.count()).select_from(resolved)) or 0
    reopened = db.session.scalar(
        select(func.count(func.distinct(TicketActionLog.ticket_id))).where(
            TicketActionLog.ticket_id.in_(select(resolved.c.id)),
            TicketActionLog.to_status == "reopened")) or 0 if n_resolved else 0
    return {
        "answers": answers,
        "average": (sum(s * n for s, n in scores.items()) / answers) if answers else None,
        "csat": (sum(n for s, n in scores.items() if s >= SATISFIED) / answers)
        if answers else None,
        "scores": {s: scores.get(s, 0) for s in range(1, 6)},
        "resolved": n_resolved, "reopened": reopened,
        "reopen_rate": reopened / n_resolved if n_resolved else None,
    }


# ------------------------------------------------------------------- failure analysis
def _cause(text: str | None) -> str:
    """A root cause as written, trimmed (first line, 60 characters) to group alike."""
    first = (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""
    return first[:60]


def failures(ctx: ServiceContext, start: datetime, end: datetime) -> dict[str, Any]:
    """Repair and complaint tickets created in ``[start, end)`` on an equipment: counts by
    brand, by model and by root cause (the top ones), each cause with the parts its
    tickets consumed (from the modules answering ``ticket_parts_used``, e.g. the
    service × stock bridge)."""
    stmt = _scoped(ctx, Ticket.id, Equipment.brand, Equipment.model, Ticket.root_cause
                   ).join(Equipment, Equipment.id == Ticket.equipment_id).where(
        Ticket.created_at >= start, Ticket.created_at < end,
        Ticket.ticket_type.in_(("repair", "complaint", "return")))
    rows = db.session.execute(stmt).all()
    brands: Counter[str] = Counter()
    models: Counter[tuple[str, str]] = Counter()
    causes: Counter[str] = Counter()
    cause_of: dict[int, str] = {}
    for tid, brand, model, root in rows:
        brands[brand or ""] += 1
        models[(brand or "", model or "")] += 1
        cause_of[tid] = _cause(root)
        if cause_of[tid]:
            causes[cause_of[tid]] += 1
    parts: dict[str, Counter[str]] = defaultdict(Counter)
    all_parts: Counter[str] = Counter()
    for answer in call("ticket_parts_used", ticket_ids=sorted(cause_of)) or []:
        for tid, part, quantity in answer or []:
            if cause_of.get(tid):
                parts[cause_of[tid]][part] += quantity
            all_parts[part] += quantity
    return {
        "tickets": len(rows),
        "brands": brands.most_common(TOP),
        "models": [(f"{b} {m}".strip(), n) for (b, m), n in models.most_common(TOP)],
        "causes": [{"cause": c, "tickets": n, "parts": parts[c].most_common(5)}
                   for c, n in causes.most_common(TOP)],
        "parts": all_parts.most_common(TOP),
    }


# -------------------------------------------------------------- engineer performance
def _hours(start: Any, end: Any) -> Any:
    """Hours between two timestamps, as SQL for the current dialect."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def engineers(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per assignee, of the tickets resolved in ``[start, end)``: how many, hours on site
    (check-in to check-out of his visits on them), first-time fix rate (resolved with one
    visit at most and never reopened) and average rating (answers only). One GROUP BY."""
    done = _scoped(ctx, Ticket.id, Ticket.assignee_id, Ticket.rating).where(
        Ticket.resolved_at >= start, Ticket.resolved_at < end,
        Ticket.assignee_id.is_not(None)).subquery()
    visits = (select(Visit.ticket_id, func.count().label("n"))
              .where(Visit.ticket_id.in_(select(done.c.id)))
              .group_by(Visit.ticket_id).subquery())
    onsite = (select(Visit.ticket_id, Visit.user_id,
                     func.sum(_hours(Visit.check_in_at, Visit.check_out_at)).label("hours"))
              .where(Visit.ticket_id.in_(select(done.c.id)), Visit.check_out_at.is_not(None))
              .group_by(Visit.ticket_id, Visit.user_id).subquery())
    reopened = select(TicketActionLog.ticket_id).where(TicketActionLog.to_status == "reopened")
    first_time = case((and_(func.coalesce(visits.c.n, 0) <= 1, done.c.id.not_in(reopened)), 1),
                      else_=0)
    stmt = (select(done.c.assignee_id, func.count(), func.sum(func.coalesce(onsite.c.hours, 0)),
                   func.sum(first_time), func.avg(done.c.rating), func.count(done.c.rating))
            .select_from(done.outerjoin(visits, visits.c.ticket_id == done.c.id)
                         .outerjoin(onsite, and_(onsite.c.ticket_id == done.c.id,
                                                 onsite.c.user_id == done.c.assignee_id)))
            .group_by(done.c.assignee_id))
    rows = db.session.execute(stmt).all()
    names = user_names(r[0] for r in rows)
    out = []
    for user_id, closed, hours, first, rating, ratings in rows:
        out.append({"user_id": user_id, "engineer": names.get(user_id, str(user_id)),
                    "closed": int(closed), "hours": round(float(hours or 0), 1),
                    "first_time": int(first or 0), "first_time_rate": int(first or 0) / closed,
                    "rating": float(rating) if rating is not None else None,
                    "ratings": int(ratings or 0)})
    return sorted(out, key=lambda r: (-r["closed"], r["engineer"]))
