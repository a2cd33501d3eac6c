"""crm's figures on the business overview (驾驶舱): the amount won in the period against
the previous one, read through the opportunities' record rules (a salesperson's own, a
manager's team's)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.periods import Period
from core.registration import DashboardFigure
from core.registration import Figure
from core.services import ServiceContext
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.workspace import money_short


def won_amount(ctx: ServiceContext, start: datetime, end: datetime) -> tuple[int, Decimal]:
    """Opportunities won in ``[start, end)`` that the actor sees: count and ¥ (the current
    quote, else the estimate), as the sales analytics count them.

    The current quote is joined (at most one per opportunity: ``uq_crm_quote_current``); as
    a correlated sub-select it was one probe per won opportunity (a manager's year: 12 ms
    where the join takes 8, bench/README.md)."""
    stmt = ctx.scoped(
        select(func.count(), func.coalesce(
            func.sum(func.coalesce(Quote.amount, Opportunity.estimated_amount)), 0))
        .select_from(Opportunity)
        .outerjoin(Quote, and_(Quote.opportunity_id == Opportunity.id,
                               Quote.is_current.is_(True)))
        .where(Opportunity.status == "won", Opportunity.won_at >= start,
               Opportunity.won_at < end), Opportunity)
    count, amount = db.session.execute(stmt).one()
    return int(count or 0), Decimal(str(amount or 0)).quantize(Decimal("0.01"))


def _won_figure(ctx: ServiceContext, period: Period) -> Figure:
    count, amount = won_amount(ctx, period.start, period.end)
    _prev_count, previous = won_amount(ctx, period.prev_start, period.prev_end)
    return Figure(amount, money_short(amount),
                  url_for("crm_opportunities.index", status="won",
                          won_from=period.first_day.isoformat(),
                          won_to=period.last_day.isoformat()),
                  previous=previous, previous_text=money_short(previous),
                  hint=_("%(count)s 单", count=count))


def figures() -> list[DashboardFigure]:
    return [DashboardFigure("crm.won_amount", "成交金额", _won_figure,
                            permission="crm.opportunity.read", group="销售", sequence=20)]
