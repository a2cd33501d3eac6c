"""sales' figures on the business overview: orders created in the period against the
previous one, and today's planned installations, through the orders' record rules
(:func:`modules.sales.queries.order_select`)."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from sqlalchemy import func

from core.extensions import db
from core.periods import Period
from core.periods import local_today
from core.registration import DashboardFigure
from core.registration import Figure
from core.services import ServiceContext
from modules.sales.models import Order
from modules.sales.queries import order_select


def orders_created(ctx: ServiceContext, start: datetime, end: datetime) -> int:
    stmt = order_select(ctx).where(Order.created_at >= start, Order.created_at < end)
    return db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0


def installs_on(ctx: ServiceContext, day: object) -> int:
    """Orders whose installation is planned that day (not cancelled)."""
    stmt = order_select(ctx).where(Order.install_date == day, Order.status != "cancelled")
    return db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0


def _orders(ctx: ServiceContext, period: Period) -> Figure:
    count = orders_created(ctx, period.start, period.end)
    previous = orders_created(ctx, period.prev_start, period.prev_end)
    return Figure(count, f"{count:,}",
                  url_for("sales.index", created_from=period.first_day.isoformat(),
                          created_to=period.last_day.isoformat()),
                  previous=previous, previous_text=f"{previous:,}")


def _installs_today(ctx: ServiceContext, _period: Period) -> Figure:
    today = local_today(ctx.now)
    count = installs_on(ctx, today)
    return Figure(count, f"{count:,}",
                  url_for("sales.index", install_from=today.isoformat(),
                          install_to=today.isoformat()))


def figures() -> list[DashboardFigure]:
    return [
        DashboardFigure("sales.orders", "新订单", _orders, permission="sales.order.read",
                        group="销售", sequence=10),
        DashboardFigure("sales.installs_today", "今日安装", _installs_today,
                        permission="sales.order.read", group="销售", sequence=30),
    ]
