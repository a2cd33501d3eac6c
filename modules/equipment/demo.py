"""Demo equipment: the delivered demo orders are installed through the real service (serial
numbers, install locations), most later completed; older units have maintenance history,
so some are due or overdue now (try ``manage.py jobs run equipment.preventive_scan``)."""

from __future__ import annotations

import random
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.sales.models import Order
from modules.sales.services.numbering import SHANGHAI
from modules.sales.services.numbering import local_date
from modules.sales.services.orders import _move
from modules.sales.services.orders import install_order

FLOORS = ("1楼大厅", "2楼办公区", "3楼会议室", "4楼机房", "5楼", "地下一层设备间", "屋顶",
          "6楼培训室", "7楼总经理室", "8楼")
WORK = ("清洗滤网、检查冷媒压力", "更换过滤网，清洁冷凝器", "检查电气接线与控制板",
        "排水管疏通，测试运行正常")
PARTS = (None, "过滤网×2", "排水泵×1", None, "传感器×1")


def _ctx_at(day: Any) -> ServiceContext:
    return ServiceContext(actor=None, source="cli", now=datetime.combine(day, time(15), SHANGHAI),
                          extra={"demo": True})


def load(ctx: Any) -> None:
    if db.session.scalar(select(func.count()).select_from(Equipment)):
        return
    rng = random.Random(20261205)
    today = local_date(ctx.now)
    orders = list(db.session.scalars(select(Order).where(Order.status == "delivered")
                                     .order_by(Order.id)))
    for i, order in enumerate(orders):
        if i == len(orders) - 1:  # the latest stays delivered: installation planned this week
            order.install_date = max(order.install_date or today, today + timedelta(days=2))
            continue
        day = min(order.install_date or order.delivered_on, today)
        brand = (order.lines[0].brand or "GR")[:2]
        prefix = {"格力": "GREE", "艾默": "EMR", "约克": "YORK", "松下": "PAN", "大金": "DKN",
                  "布鲁": "BLA", "施耐": "SE"}.get(brand, "SN")
        serials = [{"line_id": line.id,
                    "serial_number": f"{prefix}{day:%y%m}{rng.randint(100000, 999999)}",
                    "install_location": FLOORS[n % len(FLOORS)]}
                   for line in order.lines for n in range(line.delivered_quantity)]
        install_order(_ctx_at(day), order.id, serials, installed_on=day)
        if (today - day).days > 30:
            _move(_ctx_at(day + timedelta(days=2)), order, "completed", None)
    db.session.flush()
    for unit in db.session.scalars(select(Equipment).order_by(Equipment.id)):
        due = unit.next_maintenance_date
        # Units whose first maintenance came and went: most were serviced, some are overdue.
        if due is not None and due < today - timedelta(days=5) and rng.random() < 0.7:
            db.session.add(MaintenanceRecord(
                equipment_id=unit.id, maintenance_type="routine", status="done",
                maintenance_date=due, engineer_id=unit.engineer_id,
                work_description=rng.choice(WORK), parts_replaced=rng.choice(PARTS),
                cost=Decimal(rng.choice((0, 180, 350, 600))), created_at=ctx.now))
            unit.last_maintenance_date = due
            unit.next_maintenance_date = due + timedelta(days=unit.maintenance_cycle_days or 90)
    db.session.flush()
