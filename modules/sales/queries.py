"""Reads of sales, always scoped by the record rules: orders by id or number, and the
delivery and installation plan (the calendar and its .ics feed) with each engineer's
conflicts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import selectinload

from core.errors import NotFoundError
from core.extensions import db
from core.services import ServiceContext
from modules.sales.models import NUMBER_PREFIX
from modules.sales.models import Order

NOT_FOUND = _l("订单不存在或无权查看")

PLANNED = ("pending", "confirmed", "paid", "delivered", "installed")


def order_select(ctx: ServiceContext) -> Select:
    ctx.require("sales.order.read")
    return ctx.scoped(select(Order), Order)


def parse_order_ref(ref: str | int) -> tuple[str, Any] | None:
    """``SO202612040001`` → ("no", …); ``12`` → ("id", 12)."""
    text = str(ref).strip().upper()
    if text.startswith(NUMBER_PREFIX) and text[2:].isdigit():
        return "no", text
    if text.isdigit() and 0 < int(text) < 2**31:
        return "id", int(text)
    return None


def get_order(ctx: ServiceContext, ref: str | int, *, for_update: bool = False) -> Order:
    """A visible order by id or number (404 otherwise); ``for_update`` locks its row."""
    parsed = parse_order_ref(ref)
    if parsed is None:
        raise NotFoundError(str(NOT_FOUND))
    kind, value = parsed
    stmt = order_select(ctx).where(Order.order_no == value if kind == "no" else Order.id == value)
    if for_update:
        stmt = stmt.with_for_update(of=Order).execution_options(populate_existing=True)
    order = db.session.scalar(stmt.options(selectinload(Order.lines)))
    if order is None:
        raise NotFoundError(str(NOT_FOUND))
    return order


@dataclass(frozen=True)
class PlanEvent:
    """A planned delivery or installation of an order on a day."""

    kind: str  # "delivery" or "install"
    day: date
    order: Order
    engineer_id: int | None
    conflict: bool = False

    @property
    def label(self) -> str:
        return "配送" if self.kind == "delivery" else "安装"


def plan(ctx: ServiceContext, start: date, end: date,
         engineer_id: int | None = None) -> list[PlanEvent]:
    """Deliveries (orders not delivered yet) and installations (not installed yet) planned
    between ``start`` and ``end``. An installation conflicts when its engineer has another
    one on the same day."""
    stmt = order_select(ctx).where(
        Order.status.in_(PLANNED),
        or_(and_(Order.delivery_date.between(start, end),
                 Order.status.in_(("pending", "confirmed", "paid"))),
            and_(Order.install_date.between(start, end), Order.status != "installed")))
    if engineer_id:
        stmt = stmt.where(Order.engineer_id == engineer_id)
    orders = db.session.scalars(stmt.options(joinedload(Order.customer),
                                             joinedload(Order.engineer))
                                .order_by(Order.id)).unique().all()
    events: list[PlanEvent] = []
    for order in orders:
        if order.delivery_date and start <= order.delivery_date <= end \
                and order.status in ("pending", "confirmed", "paid"):
            events.append(PlanEvent("delivery", order.delivery_date, order, order.engineer_id))
        if order.install_date and start <= order.install_date <= end \
                and order.status != "installed":
            events.append(PlanEvent("install", order.install_date, order, order.engineer_id))
    busy: dict[tuple[int, date], int] = defaultdict(int)
    for e in events:
        if e.kind == "install" and e.engineer_id:
            busy[e.engineer_id, e.day] += 1
    out = [PlanEvent(e.kind, e.day, e.order, e.engineer_id,
                     e.kind == "install" and busy.get((e.engineer_id, e.day), 0) > 1)
           if e.engineer_id else e for e in events]
    return sorted(out, key=lambda e: (e.day, e.kind != "delivery", e.order.id))


def by_day(events: list[PlanEvent]) -> dict[date, list[PlanEvent]]:
    days: dict[date, list[PlanEvent]] = defaultdict(list)
    for e in events:
        days[e.day].append(e)
    return days


def order_units(ctx: ServiceContext, order: Order) -> list[dict]:
    """The units installed for ``order`` from the modules that answer ``order_units``."""
    from core.hooks import call

    return [unit for answer in (call("order_units", order=order, ctx=ctx) or [])
            for unit in answer or []]
