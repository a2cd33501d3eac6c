"""Sales analytics: the conversion funnel by stage and performance by owner and period.

Aggregated in SQL over the opportunities the viewer may see (record rules apply), drawn as
server-side SVG bars (no chart library, nothing from a CDN)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import render_template
from flask import request
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.security.access import requires
from core.security.models import User
from core.services import ServiceContext
from core.web.context import web_ctx
from modules.crm.models.opportunity import STATUSES
from modules.crm.models.opportunity import Opportunity

bp = Blueprint("crm_analytics", __name__, url_prefix="/crm/analytics",
               template_folder="templates")
SHANGHAI = ZoneInfo("Asia/Shanghai")
FUNNEL = ("new", "contacted", "quoted", "negotiating", "won")


def _scoped(ctx: ServiceContext, start: datetime, end: datetime) -> Any:
    ctx.require("crm.analytics.read")
    stmt = select(Opportunity).where(Opportunity.created_at >= start,
                                     Opportunity.created_at < end)
    return ctx.scoped(stmt, Opportunity).subquery()


def funnel(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """How many opportunities of the period reached each stage (a won one passed them all;
    a lost one counts up to where it is now recorded as lost)."""
    opp = _scoped(ctx, start, end)
    grouped = select(opp.c.status, func.count()).group_by(opp.c.status)
    counts: dict[str, int] = {row[0]: row[1] for row in db.session.execute(grouped).all()}
    total = sum(counts.values())
    rows, reached = [], total - counts.get("lost", 0)
    for status in FUNNEL:
        rows.append({"status": status, "label": STATUSES[status], "count": reached,
                     "rate": (reached / total) if total else 0.0})
        reached -= counts.get(status, 0)
    rows.append({"status": "lost", "label": STATUSES["lost"], "count": counts.get("lost", 0),
                 "rate": (counts.get("lost", 0) / total) if total else 0.0})
    return rows


def performance(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """Per owner: won amount, won/lost/open counts, win rate (won / closed) and average
    cycle in days (created → won)."""
    opp = _scoped(ctx, start, end)
    won = opp.c.status == "won"
    cycle_days = func.avg(case((won, func.extract("epoch", opp.c.won_at - opp.c.created_at)
                                / 86400.0))) if db.engine.dialect.name == "postgresql" else \
        func.avg(case((won, func.julianday(opp.c.won_at) - func.julianday(opp.c.created_at))))
    stmt = (select(opp.c.owner_id,
                   func.coalesce(func.sum(case((won, opp.c.estimated_amount), else_=0)), 0),
                   func.sum(case((won, 1), else_=0)),
                   func.sum(case((opp.c.status == "lost", 1), else_=0)),
                   func.count(), cycle_days)
            .group_by(opp.c.owner_id))
    names = {u.id: u.name for u in db.session.scalars(select(User))}
    rows = []
    for owner_id, amount, n_won, n_lost, n, cycle in db.session.execute(stmt):
        closed = (n_won or 0) + (n_lost or 0)
        rows.append({"owner": names.get(owner_id, "待认领") if owner_id else "待认领",
                     "won_amount": Decimal(str(amount or 0)).quantize(Decimal("0.01")),
                     "won": int(n_won or 0), "lost": int(n_lost or 0), "total": int(n),
                     "win_rate": (n_won / closed) if closed else None,
                     "avg_cycle_days": round(float(cycle), 1) if cycle is not None else None})
    return sorted(rows, key=lambda r: r["won_amount"], reverse=True)


def period() -> tuple[date, date]:
    today = datetime.now(SHANGHAI).date()
    try:
        start = date.fromisoformat(request.args.get("from", ""))
    except ValueError:
        start = today - timedelta(days=90)
    try:
        end = date.fromisoformat(request.args.get("to", ""))
    except ValueError:
        end = today
    return start, end


@bp.route("/")
@requires("crm.analytics.read")
def index() -> str:
    ctx = web_ctx()
    start, end = period()
    lo = datetime.combine(start, time.min, SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    funnel_rows = funnel(ctx, lo, hi)
    perf = performance(ctx, lo, hi)
    top = max([r["count"] for r in funnel_rows] + [1])
    top_amount = max([r["won_amount"] for r in perf] + [Decimal(1)])
    return render_template("crm/analytics.html", funnel=funnel_rows, perf=perf, top=top,
                           top_amount=top_amount, start=start, end=end)
