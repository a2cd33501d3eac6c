"""Sales analytics: the conversion funnel by stage and performance by owner and by month.

Aggregated in SQL over the opportunities the viewer may see (record rules apply) and drawn
as server-side SVG in the template: no chart library, no JavaScript, nothing from a CDN, so
the page works under the strict CSP, prints, and its numbers are plain text for tests.
"""

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
from flask_babel import gettext
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from core.extensions import db
from core.security.access import requires
from core.security.models import User
from core.services import ServiceContext
from core.web.context import web_ctx
from modules.crm.models.opportunity import STAGES
from modules.crm.models.opportunity import STATUSES
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote

bp = Blueprint(
    "crm_analytics", __name__, url_prefix="/crm/analytics", template_folder="templates"
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")


def _visible(ctx: ServiceContext, *where: Any) -> Any:
    ctx.require("crm.analytics.read")
    return ctx.scoped(select(Opportunity).where(*where), Opportunity).subquery()


def funnel(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """Of the opportunities created in ``[start, end)``: how many reached each stage (the
    furthest stage reached counts for every stage before it, also when it was lost later),
    as a share of all and of the previous stage; then how many were lost."""
    opp = _visible(ctx, Opportunity.created_at >= start, Opportunity.created_at < end)
    stmt = select(
        opp.c.stage_reached, func.count(), func.sum(case((opp.c.status == "lost", 1), else_=0))
    ).group_by(opp.c.stage_reached)
    reached: dict[str, int] = {}
    lost = 0
    for stage, count, n_lost in db.session.execute(stmt):
        reached[stage] = count
        lost += int(n_lost or 0)
    total = sum(reached.values())
    rows, remaining, previous = [], total, total
    for stage in STAGES:
        rows.append({"status": stage, "label": STATUSES[stage], "count": remaining,
                     "rate": remaining / total if total else 0.0,
                     "step": remaining / previous if previous else 0.0})
        previous = remaining
        remaining -= reached.get(stage, 0)
    rows.append({"status": "lost", "label": STATUSES["lost"], "count": lost,
                 "rate": lost / total if total else 0.0, "step": None})
    return rows


def _cycle_days(opp: Any) -> Any:
    """Days from creation to won, as SQL for the current dialect."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", opp.c.won_at - opp.c.created_at) / 86400.0
    return func.julianday(opp.c.won_at) - func.julianday(opp.c.created_at)


def _deal_amount(opp: Any) -> Any:
    """What a won opportunity brought: its current quote, else the estimate."""
    return func.coalesce(Quote.amount, opp.c.estimated_amount)


def _with_quote(opp: Any) -> Any:
    return opp.outerjoin(Quote, and_(Quote.opportunity_id == opp.c.id, Quote.is_current))


def performance(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """Per owner, for the period ``[start, end)``: opportunities created, won and lost (by
    their closing time), won amount, win rate (won / closed) and average cycle in days
    (created → won). Best won amount first."""
    in_period = lambda col: and_(col >= start, col < end)  # noqa: E731
    opp = _visible(ctx, or_(in_period(Opportunity.created_at),
                            in_period(Opportunity.closed_at)))
    won = and_(opp.c.status == "won", in_period(opp.c.won_at))
    lost = and_(opp.c.status == "lost", in_period(opp.c.closed_at))
    stmt = (
        select(
            opp.c.owner_id,
            func.sum(case((in_period(opp.c.created_at), 1), else_=0)),
            func.sum(case((won, 1), else_=0)),
            func.sum(case((lost, 1), else_=0)),
            func.sum(case((won, _deal_amount(opp)), else_=0)),
            func.avg(case((won, _cycle_days(opp)))),
        )
        .select_from(_with_quote(opp))
        .group_by(opp.c.owner_id)
    )
    rows = []
    for owner_id, created, n_won, n_lost, amount, cycle in db.session.execute(stmt).all():
        n_won, n_lost = int(n_won or 0), int(n_lost or 0)
        closed = n_won + n_lost
        rows.append({"owner_id": owner_id, "created": int(created or 0), "won": n_won,
                     "lost": n_lost, "won_amount": Decimal(str(amount or 0)).quantize(CENT),
                     "win_rate": n_won / closed if closed else None,
                     "avg_cycle_days": round(float(cycle), 1) if cycle is not None else None})
    users = db.session.scalars(select(User).where(
        User.id.in_([r["owner_id"] for r in rows if r["owner_id"]])))
    names = {u.id: u.name for u in users}
    for row in rows:
        row["owner"] = names.get(row["owner_id"]) or gettext("待认领")
    return sorted(rows, key=lambda r: (r["won_amount"], r["won"]), reverse=True)


def by_month(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """Won count and amount per month (Asia/Shanghai) of the period, months without deals
    included."""
    opp = _visible(ctx, Opportunity.status == "won", Opportunity.won_at >= start,
                   Opportunity.won_at < end)
    stmt = select(opp.c.won_at, _deal_amount(opp)).select_from(_with_quote(opp))
    months: dict[str, dict] = {}
    month = start.astimezone(SHANGHAI).date().replace(day=1)
    last = (end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    while month <= last:
        key = month.strftime("%Y-%m")
        months[key] = {"month": key, "won": 0, "won_amount": Decimal("0.00")}
        month = (month + timedelta(days=32)).replace(day=1)
    for won_at, amount in db.session.execute(stmt):
        key = won_at.astimezone(SHANGHAI).strftime("%Y-%m")
        if key in months:
            months[key]["won"] += 1
            months[key]["won_amount"] += Decimal(str(amount))
    return list(months.values())


def period() -> tuple[date, date]:
    """``?from=&to=`` (local dates, inclusive); the last 90 days by default."""
    today = datetime.now(SHANGHAI).date()

    def arg(name: str, default: date) -> date:
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return default

    start, end = arg("from", today - timedelta(days=90)), arg("to", today)
    return (start, end) if start <= end else (end, start)


@bp.route("/")
@requires("crm.analytics.read")
def index() -> str:
    ctx = web_ctx()
    start, end = period()
    lo = datetime.combine(start, time.min, SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    funnel_rows = funnel(ctx, lo, hi)
    perf = performance(ctx, lo, hi)
    months = by_month(ctx, lo, hi)
    return render_template(
        "crm/analytics.html", funnel=funnel_rows, perf=perf, months=months, start=start,
        end=end, top=max([r["count"] for r in funnel_rows] + [1]),
        top_amount=max([r["won_amount"] for r in perf] + [Decimal(1)]),
        top_month=max([m["won_amount"] for m in months] + [Decimal(1)]),
    )
