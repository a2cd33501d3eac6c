"""crm demo data: 200 customers across levels and owners, with contacts and follow-ups
(some sit in the pool and some are overdue for recycling); opportunities in every stage
across owners, with quotes and follow-ups, and two unowned ones waiting to be claimed;
one handover waiting for review."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from stdnum.cn import uscc

from core.errors import ConflictError
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from modules.crm.demo_names import CITIES
from modules.crm.demo_names import Names
from modules.crm.demo_names import address
from modules.crm.models.customer import CUSTOMER_SOURCES
from modules.crm.models.customer import FOLLOW_UP_CHANNELS
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.models.handover import Handover
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.services.contacts import add_contact
from modules.crm.services.customers import create_customer
from modules.crm.services.follow_ups import add_follow_up
from modules.crm.services.handover import start_handover
from modules.crm.services.handover import submit
from modules.crm.services.handover import update_checklist

DEMO_CUSTOMERS = 200


OWNERS = ("sales1", "sales2", "sales3", "manager")


INDUSTRIES = ("制造业", "酒店餐饮", "物业管理", "医疗", "教育", "零售", "政府机关", "地产")


TAGS = ("老客户", "重点跟进", "价格敏感", "决策快", "转介绍来源", "需上门")


NOTES = (
    "电话沟通设备需求，客户考虑中",
    "上门查看现场，需出安装方案",
    "发送报价单，等待反馈",
    "客户询问保养套餐",
    "约下周拜访决策人",
    "客户反馈预算有限",
    "机房空调噪音大，想了解替换方案",
    "采购流程走到财务，下周给结果",
)
TITLES = ("采购经理", "总经理", "设备主管", "行政主管", "工程部经理", "物业经理")


def _tax_id(rng: random.Random) -> str:
    body = f"9131{rng.randrange(10**4):04d}{rng.randrange(10**9):09d}"
    return body + uscc.calc_check_digit(body)


def load_customers(ctx: Any) -> None:
    """Create the demo customers once (skipped when customers already exist): plausible
    company and person names, addresses in real districts, a follow-up history whose
    latest entry asks for the next one (a few of them today or a day or two ago). One in
    ten sits in the pool (the pool demo writes how it got there)."""
    if db.session.scalar(select(func.count()).select_from(Customer)):
        return
    rng = random.Random(20240601)
    names = Names(rng)
    owners = list(db.session.scalars(select(User).where(User.username.in_(OWNERS))
                                     .order_by(User.id)))
    if not owners:
        return
    levels = ["important"] * 3 + ["normal"] * 5 + ["potential"] * 2
    phones: set[str] = set()
    for i in range(DEMO_CUSTOMERS):
        enterprise = i % 3 != 0
        city = rng.choice(CITIES)
        person = names.person()
        in_pool = i % 10 == 9
        phone = f"1{rng.choice((3, 5, 7, 8, 9))}{rng.randrange(10)}{rng.randrange(10**8):08d}"
        if phone in phones:
            continue
        phones.add(phone)
        data = {
            "customer_type": "enterprise" if enterprise else "individual",
            "customer_name": names.company(city) if enterprise else person,
            "phone": phone,
            "tax_id": _tax_id(rng) if enterprise else None,
            "industry": rng.choice(INDUSTRIES) if enterprise else None,
            "customer_level": rng.choice(levels),
            "tags": ",".join(rng.sample(TAGS, rng.randrange(0, 3))),
            "address": address(rng, city),
            "source": rng.choice(list(CUSTOMER_SOURCES)),
            "status": "in_pool" if in_pool else "active",
            "owner_id": None if in_pool else owners[i % len(owners)].id,
        }
        try:
            customer = create_customer(ctx, data)
        except ConflictError:  # an unlucky duplicate: skip it
            continue
        if enterprise:
            add_contact(
                ctx,
                customer.id,
                {
                    "name": person,
                    "title": rng.choice(TITLES),
                    "phone": data["phone"],
                    "is_primary": True,
                },
            )
        _history(ctx, rng, customer, due_soon=rng.random() < 0.2)


def _history(ctx: Any, rng: random.Random, customer: Customer, due_soon: bool) -> None:
    """Backdate ownership and add follow-ups, the latest asking for the next one: today or
    a day or two ago when ``due_soon``, else in the coming days or weeks."""
    days_owned = rng.randrange(5, 120)
    customer.owner_since = ctx.now - timedelta(days=days_owned) if customer.owner_id else None
    customer.created_at = ctx.now - timedelta(days=days_owned + rng.randrange(0, 60))
    if customer.owner is None:
        return
    last = rng.randrange(1, min(days_owned, 12) + 1)
    owner_ctx = replace(ctx, actor=customer.owner)
    backs = sorted({last, *rng.sample(range(last + 1, last + 60), rng.randrange(0, 3))},
                   reverse=True)
    zone = ZoneInfo("Asia/Shanghai")
    today = ctx.now.astimezone(zone).date()
    for back in backs:
        at = ctx.now - timedelta(days=back, hours=rng.randrange(0, 8))
        data = {"follow_up_at": at, "channel": rng.choice(list(FOLLOW_UP_CHANNELS)),
                "content": rng.choice(NOTES)}
        if back == last:  # the latest: when to follow up next
            at_day = at.astimezone(zone).date()
            wanted = (today - timedelta(days=rng.choice((0, 0, 1, 2))) if due_soon
                      else today + timedelta(days=rng.randrange(1, 21)))
            data["next_follow_up_date"] = max(wanted, at_day)
        add_follow_up(owner_ctx, customer.id, data)


# --- opportunities -----------------------------------------------------------------------


PRODUCTS = (("中央空调", 185000), ("精密空调", 92000), ("冷水机组", 360000), ("新风系统", 48000),
            ("变频多联机", 126000), ("空气净化设备", 23000), ("配电柜", 67000))


STAGES = ("new", "contacted", "quoted", "negotiating", "won", "lost")


OPPORTUNITY_NOTES = ("已电话沟通需求", "已发送方案，客户考虑中", "约了下周现场勘察",
                     "客户要求再优惠")


LOST = ("价格高于竞品", "客户预算取消", "交期不满足", "选择了原供应商")


def load_opportunities(ctx: Any) -> None:
    if db.session.scalar(select(func.count()).select_from(Opportunity)):
        return
    rng = random.Random(20261124)
    customers = list(db.session.scalars(select(Customer).where(Customer.owner_id.is_not(None))
                                        .order_by(Customer.id)))
    now = ctx.now
    for i, customer in enumerate(customers[:120]):
        product, price = rng.choice(PRODUCTS)
        quantity = rng.randint(1, 12)
        status = STAGES[i % len(STAGES)]
        created = now - timedelta(days=rng.randint(3, 150), hours=rng.randint(0, 23))
        opp = Opportunity(customer_id=customer.id, owner_id=customer.owner_id, status=status,
                          product_name=product, quantity=quantity,
                          estimated_amount=Decimal(price * quantity), source="wecom",
                          requirements=f"{customer.customer_name}需要{product}{quantity}台",
                          created_at=created, updated_at=created)
        opp.stage_reached = status if status != "lost" else rng.choice(STAGES[:4])
        if status == "won":
            won = created + timedelta(days=rng.randint(5, 40))
            if rng.random() < 0.3:  # some deals closed in the last days (this month's KPIs)
                won = now - timedelta(hours=rng.randint(2, 60))
            opp.won_at = opp.closed_at = min(won, now - timedelta(hours=rng.randint(1, 72)))
        if status == "lost":
            opp.lost_reason, opp.closed_at = rng.choice(LOST), created + timedelta(days=10)
        db.session.add(opp)
        db.session.flush()
        if status != "new":
            opp.followed_up_at = created + timedelta(days=1)
            db.session.add(FollowUp(customer_id=customer.id, opportunity_id=opp.id,
                                    user_id=customer.owner_id, follow_up_at=opp.followed_up_at,
                                    channel="phone", content=rng.choice(OPPORTUNITY_NOTES)))
        if opp.stage_reached in ("quoted", "negotiating", "won"):
            db.session.add(Quote(opportunity_id=opp.id,
                                 amount=(Decimal(price * quantity) * Decimal("0.95"))
                                 .quantize(Decimal("0.01")),
                                 is_current=True, created_at=created + timedelta(days=2)))
    for customer in customers:  # the opportunities' follow-ups are the customers' too
        latest = db.session.scalar(select(func.max(FollowUp.follow_up_at)).where(
            FollowUp.customer_id == customer.id))
        if latest is not None and (customer.last_follow_up_at is None
                                   or latest > customer.last_follow_up_at):
            customer.last_follow_up_at = latest
    for product, price in PRODUCTS[:2]:
        customer = rng.choice(customers)
        db.session.add(Opportunity(customer_id=customer.id, owner_id=None, status="new",
                                   product_name=product, quantity=5,
                                   estimated_amount=Decimal(price * 5), source="wecom",
                                   requirements="群里新发布，待认领"))
    db.session.flush()


# --- handover ----------------------------------------------------------------------------


def load_handover(ctx: Any) -> None:
    """One handover waiting for review: the admin moves three of sales2's customers to
    sales1, with the checklist gone through; 销售一组's manager reviews it, sales1
    confirms."""


    if db.session.scalar(select(func.count()).select_from(Handover)):
        return
    users = {
        u.username: u
        for u in db.session.scalars(
            select(User).where(User.username.in_(("admin", "sales1", "sales2")))
        )
    }
    if len(users) < 3:
        return
    picked = list(
        db.session.scalars(
            select(Customer.id)
            .where(Customer.owner_id == users["sales2"].id, Customer.status != "in_pool")
            .order_by(Customer.id)
            .limit(3)
        )
    )
    if not picked:
        return
    boss = ServiceContext(actor=users["admin"], source=ctx.source)
    h = start_handover(
        boss,
        to_user_id=users["sales1"].id,
        reason="position_change",
        from_user_id=users["sales2"].id,
        customer_ids=picked,
        note="赵销售调往售后部，三位老客户转给李销售",
    )
    items = list(range(len(h.checklist)))
    update_checklist(boss, h.id, items, {0: "客户资料已核对，联系人电话均有效"})
    submit(boss, h.id)


def load(ctx: Any) -> None:
    """All of crm's demo data, in order: customers, opportunities, the handover."""
    load_customers(ctx)
    load_opportunities(ctx)
    load_handover(ctx)
