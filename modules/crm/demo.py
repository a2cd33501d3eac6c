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

from sqlalchemy import func
from sqlalchemy import select
from stdnum.cn import uscc

from core.errors import ConflictError
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
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

DEMO_CUSTOMERS = 200


OWNERS = ("sales1", "sales2", "sales3", "manager")


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "丽", "涛")


CITIES = ("上海", "北京", "广州", "深圳", "杭州", "苏州", "南京", "成都", "武汉", "宁波")


TRADES = ("机电", "制冷", "环保", "科技", "建设", "物业", "酒店管理", "食品", "医疗器械")


INDUSTRIES = ("制造业", "酒店餐饮", "物业管理", "医疗", "教育", "零售", "政府机关", "地产")


TAGS = ("老客户", "重点跟进", "价格敏感", "决策快", "转介绍来源", "需上门")


NOTES = (
    "电话沟通设备需求，客户考虑中",
    "上门查看现场，需出安装方案",
    "发送报价单，等待反馈",
    "客户询问保养套餐",
    "约下周拜访决策人",
    "客户反馈预算有限",
)


def _tax_id(rng: random.Random) -> str:
    body = f"9131{rng.randrange(10**4):04d}{rng.randrange(10**9):09d}"
    return body + uscc.calc_check_digit(body)


def load_customers(ctx: Any) -> None:
    """Create the demo customers once (skipped when customers already exist)."""
    if db.session.scalar(select(func.count()).select_from(Customer)):
        return
    rng = random.Random(20240601)
    owners = list(db.session.scalars(select(User).where(User.username.in_(OWNERS))))
    if not owners:
        return
    levels = ["important"] * 3 + ["normal"] * 5 + ["potential"] * 2
    for i in range(DEMO_CUSTOMERS):
        enterprise = i % 3 != 0
        person = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN))
        in_pool = i % 10 == 9
        data = {
            "customer_type": "enterprise" if enterprise else "individual",
            "customer_name": (
                f"{rng.choice(CITIES)}{rng.choice(('恒', '盛', '华', '鑫', '瑞'))}"
                f"{rng.choice(('达', '通', '源', '泰', '安'))}{rng.choice(TRADES)}"
                f"有限公司{i + 1:03d}"
                if enterprise
                else person
            ),
            "phone": f"13{rng.randrange(5, 10)}{rng.randrange(10**8):08d}",
            "tax_id": _tax_id(rng) if enterprise else None,
            "industry": rng.choice(INDUSTRIES) if enterprise else None,
            "customer_level": rng.choice(levels),
            "tags": ",".join(rng.sample(TAGS, rng.randrange(0, 3))),
            "address": f"{rng.choice(CITIES)}市示范路{rng.randrange(1, 999)}号",
            "source": rng.choice(list(CUSTOMER_SOURCES)),
            "status": "in_pool" if in_pool else "active",
            "owner_id": None if in_pool else owners[i % len(owners)].id,
        }
        try:
            customer = create_customer(ctx, data)
        except ConflictError:  # an unlucky duplicate phone: skip it
            continue
        if enterprise:
            add_contact(
                ctx,
                customer.id,
                {
                    "name": person,
                    "title": rng.choice(("采购经理", "总经理", "设备主管", "行政主管")),
                    "phone": data["phone"],
                    "is_primary": True,
                },
            )
        _history(ctx, rng, customer, overdue=i % 10 in (3, 7))


def _history(ctx: Any, rng: random.Random, customer: Customer, overdue: bool) -> None:
    """Backdate ownership and add follow-ups; ``overdue`` ones are due for recycling."""
    days_owned = rng.randrange(90, 200) if overdue else rng.randrange(5, 120)
    customer.owner_since = ctx.now - timedelta(days=days_owned) if customer.owner_id else None
    customer.created_at = ctx.now - timedelta(days=days_owned + rng.randrange(0, 60))
    last = rng.randrange(60, days_owned) if overdue else rng.randrange(0, min(days_owned, 20) + 1)
    if customer.owner is None:
        return
    owner_ctx = replace(ctx, actor=customer.owner)
    for back in sorted(
        {last, *rng.sample(range(last, last + 60), rng.randrange(0, 3))}, reverse=True
    ):
        add_follow_up(
            owner_ctx,
            customer.id,
            {
                "follow_up_at": ctx.now - timedelta(days=back, hours=rng.randrange(0, 8)),
                "channel": rng.choice(list(FOLLOW_UP_CHANNELS)),
                "content": rng.choice(NOTES),
            },
        )


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
            opp.won_at = opp.closed_at = created + timedelta(days=rng.randint(5, 40))
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
    for product, price in PRODUCTS[:2]:
        customer = rng.choice(customers)
        db.session.add(Opportunity(customer_id=customer.id, owner_id=None, status="new",
                                   product_name=product, quantity=5,
                                   estimated_amount=Decimal(price * 5), source="wecom",
                                   requirements="群里新发布，待认领"))
    db.session.flush()


# --- handover ----------------------------------------------------------------------------


def load_handover(ctx: Any) -> None:
    """One handover waiting for review: 销售一组's manager moves three of sales2's customers
    to sales1 (an admin approves it, sales1 confirms)."""


    if db.session.scalar(select(func.count()).select_from(Handover)):
        return
    users = {
        u.username: u
        for u in db.session.scalars(
            select(User).where(User.username.in_(("manager", "sales1", "sales2")))
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
    boss = ServiceContext(actor=users["manager"], source=ctx.source)
    h = start_handover(
        boss,
        to_user_id=users["sales1"].id,
        reason="position_change",
        from_user_id=users["sales2"].id,
        customer_ids=picked,
        note="sales2 调往售后部，部分客户转给 sales1",
    )
    submit(boss, h.id)


def load(ctx: Any) -> None:
    """All of crm's demo data, in order: customers, opportunities, the handover."""
    load_customers(ctx)
    load_opportunities(ctx)
    load_handover(ctx)
