"""crm demo data, opportunities part: opportunities in every stage across owners, with
quotes and follow-ups, and two unowned ones waiting to be claimed."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote

PRODUCTS = (("中央空调", 185000), ("精密空调", 92000), ("冷水机组", 360000), ("新风系统", 48000),
            ("变频多联机", 126000), ("空气净化设备", 23000), ("配电柜", 67000))
STAGES = ("new", "contacted", "quoted", "negotiating", "won", "lost")
NOTES = ("已电话沟通需求", "已发送方案，客户考虑中", "约了下周现场勘察", "客户要求再优惠")
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
                                    channel="phone", content=rng.choice(NOTES)))
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
