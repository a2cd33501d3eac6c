"""pool's card on the home workspace: my customers about to be recycled into the pool.

A customer is "about to be recycled" when its level's rule would recycle it within the
rule's reminder days (the same reckoning as the daily job's reminders); customers in an
open handover or vouched for by another module are left out, as the job leaves them. The
card reads through ``ctx.scoped`` and keeps the actor's own customers (a manager: those of
his team), and links to the page that lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.registration import CardContent
from core.registration import TodoItem
from core.registration import WorkspaceCard
from core.services import ServiceContext
from modules.crm.models.customer import Customer

SHOWN = 5


@dataclass(frozen=True)
class DueCustomer:
    customer: Customer
    deadline: date  # the day it is recycled (Beijing)
    reason: str  # inactive_days / no_deal


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def _deadline(rule: Any, customer: Customer, reason: str) -> datetime:
    start = customer.owner_since or customer.created_at
    if reason == "inactive_days":
        if customer.last_follow_up_at and customer.last_follow_up_at > start:
            start = customer.last_follow_up_at
        return start + timedelta(days=rule.inactive_days)
    return start + timedelta(days=rule.no_deal_days)


def _due_select(ctx: ServiceContext, mine: bool, *columns: Any) -> Any:
    """The due-within-reminder-days statement (:func:`due_select`) within what the actor
    sees (``mine``: his own customers); None when no rule is enabled."""
    from modules.pool.services.customers import due_select

    stmt = due_select(ctx.now, lambda rule: max(rule.remind_days or 0, 1), *columns)
    if stmt is None:
        return None
    if mine:
        stmt = stmt.where(Customer.owner_id == ctx.actor_id)
    return ctx.scoped(stmt, Customer)


def due_soon(ctx: ServiceContext, *, mine: bool = True) -> list[DueCustomer]:
    """The actor's customers (``mine``; else all he sees) the daily job would recycle
    within their rule's reminder days, soonest first."""
    from modules.pool import queries

    stmt = _due_select(ctx, mine, Customer)
    if stmt is None:
        return []
    levels = queries.rules()
    zone = _zone()
    out = []
    for customer, reason in db.session.execute(stmt):
        when = _deadline(levels[customer.customer_level], customer, reason)
        out.append(DueCustomer(customer, when.astimezone(zone).date(), reason))
    return sorted(out, key=lambda d: (d.deadline, d.customer.id))


def due_count(ctx: ServiceContext, *, mine: bool = True) -> int:
    """How many :func:`due_soon` lists, counted by the database."""
    stmt = _due_select(ctx, mine)
    if stmt is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def days_left_badge(today: date, deadline: date) -> str:
    days = (deadline - today).days
    if days <= 0:
        return _("今天回收")
    return _("%(days)s 天后回收", days=days)


def recycle_card(ctx: ServiceContext) -> CardContent:
    today = ctx.now.astimezone(_zone()).date()
    due = due_soon(ctx)
    items = tuple(
        TodoItem(title=d.customer.customer_name,
                 url=url_for("crm_customers.detail", customer_id=d.customer.id),
                 detail=_("未跟进") if d.reason == "inactive_days" else _("未成交"),
                 badge=days_left_badge(today, d.deadline))
        for d in due[:SHOWN])
    return CardContent(items=items, total=len(due), more_url=url_for("pool.due"),
                       empty_text=_("近期没有将被回收的客户。"))


def workspace_cards() -> list[WorkspaceCard]:
    from modules.crm.workspace import by_role

    return [WorkspaceCard("pool.due_soon", _l("即将回收公海的客户"),
                          by_role("pool.customer.release", recycle_card), kind="todo",
                          permission="pool.customer.release", sequence=20)]
