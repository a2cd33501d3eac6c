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


def due_soon(ctx: ServiceContext, *, mine: bool = True) -> list[DueCustomer]:
    """The actor's customers (``mine``; else all he sees) the daily job would recycle
    within their rule's reminder days, soonest first."""
    from modules.pool import queries
    from modules.pool.services import customers as services

    found: dict[int, tuple[Any, str]] = {}
    # Only the customers the actor sees (his own with ``mine``): the exemption checks below
    # then go over hundreds of ids, not the whole company's tens of thousands.
    scope = ctx.scoped(select(Customer.id), Customer)
    if mine:
        scope = scope.where(Customer.owner_id == ctx.actor_id)
    within = Customer.id.in_(scope)
    for rule in queries.rules().values():
        if not rule.enabled:
            continue
        ahead = max(rule.remind_days or 0, 1)
        for cid, reason in services.due_ids(rule, ctx.now, ahead_days=ahead,
                                            within=within).items():
            found.setdefault(cid, (rule, reason))
    if not found:
        return []
    exempt = services._exempt(ctx, list(found))
    stmt = select(Customer).where(Customer.id.in_([c for c in found if c not in exempt]))
    if mine:
        stmt = stmt.where(Customer.owner_id == ctx.actor_id)
    zone = _zone()
    out = []
    for customer in db.session.scalars(ctx.scoped(stmt, Customer)):
        rule, reason = found[customer.id]
        when = _deadline(rule, customer, reason).astimezone(zone).date()
        out.append(DueCustomer(customer, when, reason))
    return sorted(out, key=lambda d: (d.deadline, d.customer.id))


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
