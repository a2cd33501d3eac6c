"""What sales shows elsewhere: the customer 360° section, the home workspace cards
(deliveries and installations this week, orders waiting for payment) and the global
searcher (orders by number). Every read goes through the record rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy.orm import joinedload

from core.extensions import db
from core.registration import CardContent
from core.registration import CustomerSection
from core.registration import Kpi
from core.registration import Searcher
from core.registration import SearchHit
from core.registration import TodoItem
from core.registration import WorkspaceCard
from modules.sales.models import Order
from modules.sales.queries import order_select
from modules.sales.services.numbering import local_date

SHOWN = 5


def _customer_section(customer: Any, ctx: Any) -> str:
    orders = list(db.session.scalars(
        order_select(ctx).where(Order.customer_id == customer.id)
        .order_by(Order.id.desc()).limit(20)))
    return render_template("sales/customer_section.html", orders=orders, customer=customer)


def customer_sections() -> list[CustomerSection]:
    return [CustomerSection("orders", "订单", _customer_section, sequence=20,
                            permission="sales.order.read")]


def _week(ctx: Any) -> tuple[Any, Any]:
    today = local_date(ctx.now)
    start = today - timedelta(days=today.weekday())
    return start, start + timedelta(days=6)


def _todo(ctx: Any, stmt: Any, badge: Any, empty: str, more_url: str,
          kpi_label: str) -> CardContent:
    total = db.session.scalar(stmt.with_only_columns(func.count()).order_by(None))
    rows = db.session.scalars(stmt.options(joinedload(Order.customer)).limit(SHOWN))
    items = tuple(TodoItem(f"{o.order_no} {o.customer.customer_name}",
                           url_for("sales.detail", id=o.id),
                           detail=f"¥{o.total_amount:,.2f}", badge=badge(o)) for o in rows)
    return CardContent(kpis=(Kpi(kpi_label, str(total), more_url),), items=items, total=total,
                       more_url=more_url, empty_text=empty)


def _this_week(ctx: Any) -> CardContent:
    start, end = _week(ctx)
    delivering = (Order.status.in_(("confirmed", "paid")) & Order.delivery_date.between(start, end))
    installing = (Order.status == "delivered") & Order.install_date.between(start, end)
    stmt = order_select(ctx).where(or_(delivering, installing)).order_by(
        func.coalesce(Order.install_date, Order.delivery_date), Order.id)

    def badge(o: Order) -> str:
        if o.status == "delivered":
            return _("安装 %(day)s", day=o.install_date.strftime("%m-%d"))
        return _("配送 %(day)s", day=o.delivery_date.strftime("%m-%d"))

    return _todo(ctx, stmt, badge, _("本周没有配送或安装"), url_for("sales.index"),
                 _("本周配送/安装"))


def _waiting_payment(ctx: Any) -> CardContent:
    stmt = order_select(ctx).where(Order.status == "confirmed").order_by(Order.confirmed_at,
                                                                         Order.id)
    return _todo(ctx, stmt, lambda o: _("待付款"), _("没有待付款的订单"),
                 url_for("sales.index", status="confirmed"), _("待付款订单"))


def workspace_cards() -> list[WorkspaceCard]:
    return [
        WorkspaceCard("sales.this_week", "本周配送与安装", _this_week, kind="todo",
                      permission="sales.order.read", sequence=30),
        # who records payments: not every reader of orders (engineers, the warehouse)
        WorkspaceCard("sales.waiting_payment", "待付款订单", _waiting_payment, kind="todo",
                      permission="sales.order.pay", sequence=31),
    ]


def _search(ctx: Any, term: str, limit: int) -> list[SearchHit]:
    term = (term or "").strip().upper()
    if len(term) < 3:
        return []
    rows = db.session.scalars(
        order_select(ctx).where(Order.order_no.like(f"%{term[:20]}%"))
        .options(joinedload(Order.customer)).order_by(Order.id.desc()).limit(limit))
    return [SearchHit(o.order_no, url_for("sales.detail", id=o.id),
                      detail=f"{o.customer.customer_name} · ¥{o.total_amount:,.2f} · "
                             f"{_(o.status_label)}") for o in rows]


def searchers() -> list[Searcher]:
    return [Searcher("orders", "订单", _search, permission="sales.order.read", sequence=30)]
