"""pool demo data: the default recycling rule of every customer level; the pool history of
the customers crm's demo put in the pool (who held them, when and why they came back); and
no customer already overdue for recycling — the ones the rules would take now are moved
to fall due in the coming days instead (a few within their reminder days, so the home
page's "about to be recycled" list has something to show)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.security.models import User
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.pool import queries
from modules.pool.models import PoolMove
from modules.pool.services.customers import due_ids
from modules.pool.services.rules import update_rule

SALES = ("sales1", "sales2", "sales3", "manager")
NOTES = {"inactive_days": "{level}级规则自动回收：长期未跟进",
         "no_deal": "{level}级规则自动回收：长期未成交",
         "manual": "客户暂无采购计划，放入公海"}
LEVELS = {"important": "重要", "normal": "普通", "potential": "潜在"}


def load(ctx: Any) -> None:
    for level in ("important", "normal", "potential"):
        update_rule(ctx, level, {})
    rng = random.Random(20261204)
    _pool_history(ctx, rng)
    _nothing_overdue(ctx, rng)


def _pool_history(ctx: Any, rng: random.Random) -> None:
    """Each pool customer without history: claimed by a salesperson some months ago, then
    recycled by its level's rule (or released by hand) some days or weeks ago; some were
    claimed and recycled once before."""
    sales = list(db.session.scalars(select(User).where(User.username.in_(SALES))
                                    .order_by(User.id)))
    if not sales:
        return
    known = select(PoolMove.customer_id)
    customers = db.session.scalars(select(Customer).where(
        Customer.status == "in_pool", Customer.id.not_in(known)).order_by(Customer.id))
    for customer in customers:
        back = rng.randrange(3, 45)  # days since it came back to the pool
        rounds = rng.choice((1, 1, 2))
        moves = []
        for _ in range(rounds):
            holder = rng.choice(sales)
            reason = rng.choice(("inactive_days", "inactive_days", "no_deal", "manual"))
            held = rng.randrange(20, 90)
            moves.append(PoolMove(customer_id=customer.id, from_owner_id=None,
                                  to_owner_id=holder.id, reason="claim",
                                  actor_id=holder.id,
                                  at=ctx.now - timedelta(days=back + held)))
            moves.append(PoolMove(
                customer_id=customer.id, from_owner_id=holder.id, to_owner_id=None,
                reason=reason, actor_id=holder.id if reason == "manual" else None,
                note=NOTES[reason].format(level=LEVELS.get(customer.customer_level, "")),
                at=ctx.now - timedelta(days=back)))
            back += held + rng.randrange(10, 60)
        db.session.add_all(moves)
        customer.created_at = min(customer.created_at, min(m.at for m in moves)
                                  - timedelta(days=rng.randrange(1, 30)))
        customer.updated_at = max(m.at for m in moves)  # the list's 进入公海 column
        last = db.session.scalar(select(func.max(FollowUp.follow_up_at)).where(
            FollowUp.customer_id == customer.id))
        customer.last_follow_up_at = last
    db.session.flush()


def _nothing_overdue(ctx: Any, rng: random.Random) -> None:
    """Move the customers the rules would recycle now so that they fall due later: about a
    third within their level's reminder days, the rest within a few weeks. The latest
    follow-up (and the ones before it) and the start of ownership shift together, so the
    history stays in order."""
    for rule in queries.rules().values():
        if not rule.enabled:
            continue
        for customer_id in sorted(due_ids(rule, ctx.now)):
            customer = db.session.get(Customer, customer_id)
            soon = rng.random() < 0.35
            days = (rng.randrange(1, max(rule.remind_days, 1) + 1) if soon
                    else rng.randrange(rule.remind_days + 2, rule.remind_days + 25))
            _fall_due_in(ctx, rule, customer, min(days, rule.inactive_days - 1))
    db.session.flush()


def _fall_due_in(ctx: Any, rule: Any, customer: Customer, days: int) -> None:
    deadline = ctx.now + timedelta(days=days)
    last_follow = deadline - timedelta(days=rule.inactive_days)
    start = customer.owner_since or customer.created_at
    earliest_start = deadline - timedelta(days=rule.no_deal_days)
    if start < earliest_start:
        shift = earliest_start - start + timedelta(hours=1)
        customer.owner_since = start + shift
        if customer.created_at > customer.owner_since:
            customer.created_at = customer.owner_since
    current = customer.last_follow_up_at
    if current is None or current < last_follow:
        delta = last_follow - (current or last_follow)
        if current is not None:
            for follow in db.session.scalars(select(FollowUp).where(
                    FollowUp.customer_id == customer.id)):
                follow.follow_up_at += delta
                if follow.next_follow_up_date is not None:
                    follow.next_follow_up_date += timedelta(days=delta.days)
        else:
            db.session.add(FollowUp(customer_id=customer.id, user_id=customer.owner_id,
                                    follow_up_at=last_follow, channel="phone",
                                    content="电话回访，客户暂无新需求"))
        customer.last_follow_up_at = last_follow
        start = customer.owner_since or customer.created_at
        if start > last_follow:
            customer.owner_since = last_follow - timedelta(days=1)
