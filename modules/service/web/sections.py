"""The ticket blocks of the customer 360° and equipment 360° views."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask import url_for
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from modules.service.models import OPEN_STATUSES
from modules.service.models import Ticket


def _render(ctx: Any, where: Any, new_url: str | None, more_url: str) -> str:
    base = ctx.scoped(select(Ticket), Ticket).where(where)
    counts = db.session.execute(base.with_only_columns(
        func.count(), func.count().filter(Ticket.status.in_(OPEN_STATUSES))).order_by(None)).one()
    rows = list(db.session.scalars(base.order_by(Ticket.id.desc()).limit(8)))
    return render_template("service/section.html", rows=rows, total=counts[0],
                           open_count=counts[1], new_url=new_url, more_url=more_url)


def customer_section(customer: Any, ctx: Any) -> str:
    new_url = url_for("service.create", customer_id=customer.id) \
        if ctx.can("service.ticket.create") else None
    return _render(ctx, Ticket.customer_id == customer.id, new_url,
                   url_for("service.index", customer_id=customer.id))


def equipment_section(equipment: Any, ctx: Any) -> str:
    new_url = url_for("service.create", customer_id=equipment.customer_id) \
        if ctx.can("service.ticket.create") else None
    return _render(ctx, Ticket.equipment_id == equipment.id, new_url,
                   url_for("service.index", equipment_id=equipment.id))
