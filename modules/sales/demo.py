"""Demo orders: one per won demo opportunity, through the real services, dated from the
deal. Older deals are delivered (the equipment demo installs them), recent ones are
confirmed, paid or waiting, with deliveries and installations planned for this week."""

from __future__ import annotations

import random
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from modules.crm.models.opportunity import Opportunity
from modules.sales.models import Order
from modules.sales.services.numbering import SHANGHAI
from modules.sales.services.numbering import local_date
from modules.sales.services.orders import _move
from modules.sales.services.orders import create_from_opportunity

# product → (brand, model, equipment type, warranty months, maintenance cycle days)
CATALOG = {
    "中央空调": ("格力", "GMV-H160WL/A", "中央空调", 36, 90),
    "精密空调": ("艾默生", "Liebert PEX4", "精密空调", 24, 60),
    "冷水机组": ("约克", "YLAA0350", "冷水机组", 36, 90),
    "新风系统": ("松下", "FY-50ZDP1C", "新风系统", 24, 180),
    "变频多联机": ("大金", "RXYQ20BAV", "多联机", 36, 90),
    "空气净化设备": ("布鲁雅尔", "A3 Pro", "空气净化器", 12, 90),
    "配电柜": ("施耐德", "Prisma iPM", "配电柜", 24, 180),
}
ADDRESSES = ("上海市浦东新区张江路88号", "杭州市西湖区文三路398号", "苏州工业园区星湖街328号",
             "南京市建邺区江东中路102号", "宁波市鄞州区天童南路555号", "无锡市滨湖区蠡湖大道1800号")


def _ctx_at(moment: datetime) -> ServiceContext:
    return ServiceContext(actor=None, source="cli", now=moment, extra={"demo": True})


def _at(day: Any, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


def load(ctx: Any) -> None:
    if db.session.scalar(select(func.count()).select_from(Order)):
        return
    rng = random.Random(20261204)
    engineer = db.session.scalar(select(User).where(User.username == "engineer1"))
    won = list(db.session.scalars(select(Opportunity).where(Opportunity.status == "won")
                                  .order_by(Opportunity.won_at, Opportunity.id)))
    today = local_date(ctx.now)
    for opp in won:
        won_at = min(opp.won_at or ctx.now - timedelta(days=30), ctx.now - timedelta(hours=2))
        order = create_from_opportunity(_ctx_at(won_at), opp)
        brand, model, kind, warranty, cycle = CATALOG.get(
            opp.product_name, ("格力", "KFR-72LW", opp.product_name, 36, 90))
        for line in order.lines:
            line.brand, line.model, line.equipment_type = brand, model, kind
            line.warranty_months, line.maintenance_cycle_days = warranty, cycle
        order.delivery_address = order.delivery_address or rng.choice(ADDRESSES)
        order.engineer_id = engineer.id if engineer else None
        won_day = local_date(won_at)
        age = (today - won_day).days
        if age > 20:  # old enough to be delivered already (the equipment demo installs it)
            order.delivery_date = won_day + timedelta(days=rng.randint(7, 12))
            order.install_date = order.delivery_date + timedelta(days=rng.randint(1, 3))
            steps = [("confirmed", won_day + timedelta(days=1)),
                     ("paid", won_day + timedelta(days=3)),
                     ("delivered", order.delivery_date)]
        else:  # recent: planned for this week and next
            order.delivery_date = today + timedelta(days=rng.randint(0, 6))
            order.install_date = order.delivery_date + timedelta(days=rng.randint(1, 3))
            steps = [("confirmed", won_day + timedelta(days=1)),
                     ("paid", won_day + timedelta(days=2))][:rng.randint(0, 2)]
        db.session.flush()
        for status, day in steps:
            day = min(day, today)
            _move(_ctx_at(_at(day)), order, status, None, on=day)
    db.session.flush()
