"""Service analytics (售后服务分析): response and resolution times in working time (median
and p90) by type, priority, engineer and period; satisfaction (answers only) and reopen
rate; failure analysis by brand, model and cause with the parts consumed; engineer
performance. Every read goes through the tickets' record rules (``ctx.scoped``).

Working time is the SLA's calendar (:func:`modules.service.services.sla.calendar`, the
``service.working_hours`` setting and the Chinese public holidays): a ticket opened on
Friday at 17:00 and answered on Monday at 09:30 took 90 working minutes. Paused spans
(waiting for the customer or for parts) do not count towards the resolution time, as for
the SLA. Each ticket's minutes are stamped when it is answered and resolved
(:func:`modules.service.sla.ticket_minutes`), so the medians are aggregates in SQL.
"""

from __future__ import annotations

import math
from collections import Counter
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import tuple_

from core.cache import request_cached
from core.extensions import db
from core.hooks import call
from core.security.models import User
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.service.models import Visit
from modules.service.sla import LOCAL
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


KEYS = ("period", "ticket_type", "priority", "assignee_id")


def _weekly(start: datetime, end: datetime) -> bool:
    return (end - start) <= timedelta(days=62)


def _pg_bucket(weekly: bool) -> Any:
    """:func:`bucket_of` in SQL (PostgreSQL): ISO week or month of the Beijing time."""
    local = func.timezone(LOCAL.key, Ticket.created_at)
    return func.to_char(local, 'IYYY-"W"IW' if weekly else "YYYY-MM")


def _summary_sql(column: Any) -> list[Any]:
    return [func.count(column),
            func.percentile_cont(0.5).within_group(column),
            func.percentile_cont(0.9).within_group(column)]


def _as_summary(n: Any, median: Any, p90: Any) -> dict[str, Any]:
    n = int(n or 0)
    return {"n": n, "median": float(median) if n else None,
            "p90": float(p90) if n else None}


def time_groups(ctx: ServiceContext, start: datetime, end: datetime) -> dict[str, Any]:
    """Of the tickets created in ``[start, end)``: the number, and the first response and
    resolution summaries (count, median, p90 of the working minutes stamped on each ticket,
    see :func:`modules.service.services.sla.stamp_minutes`) per value of each of
    :data:`KEYS` (``period``: ISO week up to two months, else month) and over all
    (``"all"``). On PostgreSQL one statement (``percentile_cont`` over grouping sets);
    elsewhere the minutes are read and summarised here the same way."""
    weekly = _weekly(start, end)
    window = (Ticket.created_at >= start, Ticket.created_at < end)
    groups: dict[str, Any] = {k: [] for k in KEYS}
    if db.engine.dialect.name == "postgresql":
        bucket = _pg_bucket(weekly)
        keys = (bucket, Ticket.ticket_type, Ticket.priority, Ticket.assignee_id)
        stmt = _scoped(ctx, *keys, func.grouping(*keys), func.count(),
                       *_summary_sql(Ticket.response_minutes),
                       *_summary_sql(Ticket.resolution_minutes)).where(*window).group_by(
            func.grouping_sets(*(tuple_(k) for k in keys), tuple_()))
        for row in db.session.execute(stmt):
            mask, tickets = row[4], int(row[5])
            entry = {"tickets": tickets, "response": _as_summary(*row[6:9]),
                     "resolution": _as_summary(*row[9:12])}
            if mask == 0b1111:
                groups["all"] = entry
                continue
            index = (0b0111, 0b1011, 0b1101, 0b1110).index(mask)
            groups[KEYS[index]].append({"key": row[index], **entry})
    else:
        stmt = _scoped(ctx, Ticket.created_at, Ticket.ticket_type, Ticket.priority,
                       Ticket.assignee_id, Ticket.response_minutes,
                       Ticket.resolution_minutes).where(*window)
        rows = [(bucket_of(created, weekly), kind, priority, assignee, response, resolution)
                for created, kind, priority, assignee, response, resolution
                in db.session.execute(stmt)]
        groups["all"] = _summarise(rows)
        for index, name in enumerate(KEYS):
            members: dict[Any, list] = defaultdict(list)
            for row in rows:
                members[row[index]].append(row)
            groups[name] = [{"key": key, **_summarise(group)} for key, group in members.items()]
    groups.setdefault("all", {"tickets": 0, "response": summary([]),
                              "resolution": summary([])})
    return groups


def _summarise(rows: list[tuple]) -> dict[str, Any]:
    return {"tickets": len(rows),
            "response": summary([r[4] for r in rows if r[4] is not None]),
            "resolution": summary([r[5] for r in rows if r[5] is not None])}


def times_by(groups: dict[str, Any], key: str,
             label: Callable[[Any], str] = str) -> list[dict[str, Any]]:
    """The groups of ``key`` from :func:`time_groups`, labelled (most tickets first;
    periods in order)."""
    out = [{**g, "label": label(g["key"])} for g in groups[key]]
    if key == "period":
        return sorted(out, key=lambda g: g["key"])
    return sorted(out, key=lambda g: (-g["tickets"], str(g["label"])))


def user_names(ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the users ``ids``: their id and name read in one statement (not
    the users with their roles); in a request, names read once are kept for the request,
    so the page's engineers of both periods and its time groups cost one read."""
    known: dict[int, str] = request_cached("service.analytics.user_names", dict)
    wanted = {i for i in ids if i}
    missing = wanted - known.keys()
    if missing:
        stmt = select(User.id, User.name).where(User.id.in_(missing))
        known.update((uid, name) for uid, name in db.session.execute(stmt))
    return {i: known[i] for i in wanted if i in known}


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
                                             Ticket.resolved_at < end)
    # Both counts in one statement (two sub-selects, each planned as it was on its own).
    n_resolved, reopened = db.session.execute(select(
        select(func.count()).select_from(resolved.subquery()).scalar_subquery(),
        select(func.count(func.distinct(TicketActionLog.ticket_id))).where(
            TicketActionLog.ticket_id.in_(resolved),
            TicketActionLog.to_status == "reopened").scalar_subquery())).one()
    n_resolved, reopened = int(n_resolved or 0), int(reopened or 0)
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
    def chosen(*columns: Any) -> Any:
        return _scoped(ctx, *columns).join(Equipment, Equipment.id == Ticket.equipment_id
                                           ).where(
            Ticket.created_at >= start, Ticket.created_at < end,
            Ticket.ticket_type.in_(("repair", "complaint", "return")))

    # Counted by the database per brand, model and cause as written; causes written alike
    # (the same first line) are merged here.
    stmt = chosen(Equipment.brand, Equipment.model, Ticket.root_cause, func.count()).group_by(
        Equipment.brand, Equipment.model, Ticket.root_cause)
    brands: Counter[str] = Counter()
    models: Counter[tuple[str, str]] = Counter()
    causes: Counter[str] = Counter()
    total = 0
    for brand, model, root, n in db.session.execute(stmt):
        total += n
        brands[brand or ""] += n
        models[(brand or "", model or "")] += n
        if _cause(root):
            causes[_cause(root)] += n
    parts: dict[str, Counter[str]] = defaultdict(Counter)
    all_parts: Counter[str] = Counter()
    tickets = chosen(Ticket.id, Ticket.root_cause)
    for answer in (call("ticket_parts_used", tickets=tickets) or []) if total else []:
        for root, part, quantity in answer or []:
            if _cause(root):
                parts[_cause(root)][part] += quantity
            all_parts[part] += quantity
    return {
        "tickets": total,
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
