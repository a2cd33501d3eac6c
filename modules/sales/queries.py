"""Reads of sales, scoped by the record rules: the delivery and installation plan (the
calendar and its .ics feed) with the conflicts of each engineer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy.orm import joinedload

from core.extensions import db
from core.services import ServiceContext
from modules.sales.models import Order
from modules.sales.services.orders import order_select

PLANNED = ("pending", "confirmed", "paid", "delivered", "installed")


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
