"""Demo data: HVAC parts, suppliers, the main warehouse and 张工's van, opening stock, a
part below its minimum, a request waiting for approval and a purchase order due today."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select

from core import hooks
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from modules.stock.models import Part
from modules.stock.models import PartSupplier
from modules.stock.services import catalogue
from modules.stock.services import ledger
from modules.stock.services import purchasing
from modules.stock.services import requests

SUPPLIERS = [("格力配件华东分销中心", "周经理", "021-62345678"),
             ("上海冷通制冷设备有限公司", "吴先生", "021-58761234"),
             ("苏州恒温电气配件厂", "郑女士", "0512-66781234")]

# code, name, category, spec, models, unit, price, min, reorder, supplier, main, van
PARTS = [
    ("AC-FILTER-001", "空调滤网", "filter", "500×300mm 高效除尘", "KFR-35GW, KFR-50LW", "片",
     "35.00", 20, 50, 0, 42, 6),
    ("AC-FILTER-002", "空调滤网（抗菌型）", "filter", "500×300mm 银离子抗菌", "KFR-35GW, KFR-50LW",
     "片", "48.00", 10, 30, 0, 15, 0),
    ("AC-COMP-2023", "变频压缩机", "compressor", "1.5匹 R32 旋转式", "KFR-35GW", "台",
     "1280.00", 3, 5, 1, 2, 0),
    ("AC-CAP-035", "压缩机启动电容", "electrical", "35μF 450V", "KFR-35GW, KFR-50LW", "个",
     "26.00", 15, 40, 2, 31, 4),
    ("AC-FAN-MOTOR-01", "室外风机电机", "motor", "YDK-45-6 45W", "KFR-50LW", "台",
     "215.00", 4, 8, 1, 6, 1),
    ("AC-R32-10KG", "R32 冷媒", "refrigerant", "10kg/瓶", "KFR-35GW, KFR-50LW", "瓶",
     "420.00", 5, 10, 1, 4, 0),
    ("AC-SENSOR-T1", "室内温度传感器", "sensor", "10kΩ NTC", "KFR-35GW", "个",
     "12.50", 20, 50, 2, 58, 10),
    ("AC-PCB-MAIN-35", "室内机主控板", "electrical", "KFR-35GW 通用", "KFR-35GW", "块",
     "360.00", 2, 4, 0, 3, 0),
]


def load(ctx: Any) -> None:
    """Create the stock demo once (skipped when parts exist)."""
    if db.session.scalar(select(func.count()).select_from(Part)):
        return
    admin = ServiceContext(actor=None, source="cli")
    suppliers = [catalogue.create_supplier(admin, n, c, p) for n, c, p in SUPPLIERS]
    zhang = db.session.scalar(select(User).where(User.username == "engineer1"))
    main = catalogue.create_warehouse(admin, "WH-MAIN", "主仓库（上海浦东）", "main")
    van = (catalogue.create_warehouse(admin, "VAN-ZHANG", "张工的车载库", "van", zhang.id)
           if zhang else None)
    parts = {}
    for (code, name, cat, spec, models, unit, price, low, reorder, sup, on_main,
         on_van) in PARTS:
        part = catalogue.create_part(admin, {
            "part_code": code, "part_name": name, "category": cat, "specification": spec,
            "applicable_models": models, "unit": unit, "unit_price": price,
            "min_stock_alert": low, "reorder_quantity": reorder,
            "supplier_id": suppliers[sup].id})
        db.session.add(PartSupplier(part_id=part.id, supplier_id=suppliers[sup].id,
                                    unit_price=part.unit_price, lead_days=3))
        parts[code] = part
        cost = (part.unit_price * 7 / 10).quantize(part.unit_price)
        if on_main:
            ledger.receive(admin, part.id, main.id, on_main, cost, "期初库存")
        if on_van and van is not None:
            ledger.transfer(admin, part.id, main.id, van.id, on_van, "张工领用至车载库")
    catalogue.update_part(admin, parts["AC-FILTER-001"].id,
                          {"substitute_ids": [parts["AC-FILTER-002"].id]})
    # A request of 张工 waiting for approval, for ticket 1 when he may name it (with
    # service_stock installed, once the ticket exists and is his to see).
    if zhang is not None:
        as_zhang = ServiceContext(actor=zhang, source="web")
        ticket = hooks.call("stock_reference_visible", field="ticket_id", value=1, ctx=as_zhang)
        requests.create_request(as_zhang, [{"part_code": "AC-CAP-035", "quantity": 2}],
                                ticket_id=None if ticket is False else 1,
                                notes="3楼空调压缩机不启动，疑似电容损坏")
    # A purchase order due today: the compressor is short (2 on hand, minimum 3).
    today = ctx.now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    purchasing.create_purchase_order(
        admin, suppliers[1].id, main.id,
        [{"part_id": parts["AC-R32-10KG"].id, "quantity": 6, "unit_cost": "300.00"}],
        expected_date=today, notes="月度补货")
    purchasing.create_purchase_order(
        admin, suppliers[0].id, main.id,
        [{"part_id": parts["AC-PCB-MAIN-35"].id, "quantity": 2, "unit_cost": "250.00"}],
        expected_date=today + timedelta(days=3))
    db.session.flush()
