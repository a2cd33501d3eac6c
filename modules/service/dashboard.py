"""service's figures on the business overview: open tickets by status, the share of
tickets resolved within their SLA, the average rating (answers only) and the backlog's
age, all read through the tickets' record rules (``ctx.scoped``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.periods import Period
from core.registration import DashboardFigure
from core.registration import Figure
from core.registration import Kpi
from core.services import ServiceContext
from modules.service.models import OPEN_STATUSES
from modules.service.models import STATUSES
from modules.service.models import Ticket


def _tickets(ctx: ServiceContext, *columns: Any) -> Any:
    ctx.require("service.ticket.read")
    return ctx.scoped(select(*columns).select_from(Ticket), Ticket)


def open_by_status(ctx: ServiceContext) -> dict[str, int]:
    stmt = (_tickets(ctx, Ticket.status, func.count())
            .where(Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.status))
    found = dict(db.session.execute(stmt).all())
    return {status: int(found.get(status, 0)) for status in OPEN_STATUSES}


def sla_met(ctx: ServiceContext, start: datetime, end: datetime) -> tuple[int, int]:
    """Of the tickets resolved in ``[start, end)`` under an SLA: (met, met + breached)."""
    stmt = _tickets(ctx, func.count(), func.sum(case((Ticket.sla_state == "met", 1),
                                                     else_=0))).where(
        Ticket.resolved_at >= start, Ticket.resolved_at < end,
        Ticket.sla_state.in_(("met", "breached")))
    total, met = db.session.execute(stmt).one()
    return int(met or 0), int(total or 0)


def rating(ctx: ServiceContext, start: datetime, end: datetime) -> tuple[float | None, int]:
    """Average rating of the answers given in ``[start, end)`` and their number."""
    stmt = _tickets(ctx, func.avg(Ticket.rating), func.count(Ticket.rating)).where(
        Ticket.rating.is_not(None), Ticket.rated_at >= start, Ticket.rated_at < end)
    avg, count = db.session.execute(stmt).one()
    return (float(avg) if avg is not None else None), int(count or 0)


def backlog_age(ctx: ServiceContext) -> tuple[float | None, int]:
    """Open tickets: their average age in days (from creation to now) and their number."""
    stmt = _tickets(ctx, func.count(), func.avg(_epoch(Ticket.created_at))).where(
        Ticket.status.in_(OPEN_STATUSES))
    count, avg_epoch = db.session.execute(stmt).one()
    if not count or avg_epoch is None:
        return None, 0
    return (ctx.now.timestamp() - float(avg_epoch)) / 86400.0, int(count)


def _epoch(column: Any) -> Any:
    """Seconds since 1970 of a timestamp, as SQL for the current dialect."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _percent(met: int, total: int) -> float | None:
    return met / total if total else None


def _open(ctx: ServiceContext, _period: Period) -> Figure:
    counts = open_by_status(ctx)
    total = sum(counts.values())
    return Figure(total, f"{total:,}", url_for("service.index", open="1"),
                  parts=tuple(Kpi(STATUSES[s], str(n), url_for("service.index", status=s))
                              for s, n in counts.items()),
                  higher_is_better=False)


def _within_sla(ctx: ServiceContext, period: Period) -> Figure:
    met, total = sla_met(ctx, period.start, period.end)
    prev_met, prev_total = sla_met(ctx, period.prev_start, period.prev_end)
    share, previous = _percent(met, total), _percent(prev_met, prev_total)
    return Figure(share, f"{share * 100:.0f}%" if share is not None else "—",
                  url_for("service.index", resolved_from=period.first_day.isoformat(),
                          resolved_to=period.last_day.isoformat(), sla_state="met"),
                  previous=previous,
                  previous_text=f"{previous * 100:.0f}%" if previous is not None else "—",
                  hint=_("%(met)s / %(total)s 单", met=met, total=total))


def _rating(ctx: ServiceContext, period: Period) -> Figure:
    avg, count = rating(ctx, period.start, period.end)
    previous, _prev_count = rating(ctx, period.prev_start, period.prev_end)
    return Figure(avg, f"{avg:.2f}" if avg is not None else "—",
                  url_for("service.index", survey_state="rated",
                          rated_from=period.first_day.isoformat(),
                          rated_to=period.last_day.isoformat()),
                  previous=previous,
                  previous_text=f"{previous:.2f}" if previous is not None else "—",
                  hint=_("%(count)s 条评价", count=count))


def _backlog(ctx: ServiceContext, _period: Period) -> Figure:
    days, count = backlog_age(ctx)
    return Figure(days, _("%(days).1f 天", days=days) if days is not None else "—",
                  url_for("service.index", open="1", sort="created_at"),
                  hint=_("%(count)s 单未完成", count=count), higher_is_better=False)


def figures() -> list[DashboardFigure]:
    perm = "service.ticket.read"
    return [
        DashboardFigure("service.open", "未完成工单", _open, permission=perm, group="售后",
                        sequence=50),
        DashboardFigure("service.within_sla", "SLA 达成率", _within_sla, permission=perm,
                        group="售后", sequence=51),
        DashboardFigure("service.rating", "平均评分", _rating, permission=perm, group="售后",
                        sequence=52),
        DashboardFigure("service.backlog_age", "积压工单平均时长", _backlog, permission=perm,
                        group="售后", sequence=53),
    ]
