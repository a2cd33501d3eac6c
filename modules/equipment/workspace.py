"""What equipment shows elsewhere: customer 360° and equipment 360° sections, the home
workspace card (maintenance due), the global searcher (serial / equipment number) and the
handover checklist item. Every read goes through the record rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask import has_request_context
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.extensions import db
from core.registration import CardContent
from core.registration import CustomerSection
from core.registration import Kpi
from core.registration import Searcher
from core.registration import SearchHit
from core.registration import TodoItem
from core.registration import WorkspaceCard
from modules.equipment.hookspecs import EquipmentSection
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.equipment.services import equipment as svc

SHOWN = 5


# --- customer 360° --------------------------------------------------------------------------


def _customer_section(customer: Any, ctx: Any) -> str:
    rows = list(db.session.scalars(
        svc.equipment_select(ctx).where(Equipment.customer_id == customer.id)
        .order_by(Equipment.id).limit(50)))
    on = svc.today(ctx)
    return render_template("equipment/customer_section.html", rows=rows, on=on,
                           warranty=lambda e: svc.warranty_status(e, on), customer=customer)


def customer_sections() -> list[CustomerSection]:
    return [CustomerSection("equipment", "设备档案", _customer_section, sequence=30,
                            permission="equipment.equipment.read")]


# --- equipment 360° ------------------------------------------------------------------------


def _order_section(equipment: Any, ctx: Any) -> str:
    """The order and its installation (one query, through the order's record rules: an
    order the reader may not see is named, not linked)."""
    order = equipment.order
    visible = False
    if order is not None and ctx.can("sales.order.read"):
        from modules.sales.queries import order_select

        visible = db.session.scalar(order_select(ctx).with_only_columns(
            func.count()).where(order.__class__.id == order.id)) > 0
    return render_template("equipment/order_section.html", equipment=equipment, order=order,
                           visible=visible)


def _maintenance_section(equipment: Any, ctx: Any) -> str:
    """The whole maintenance history in one query, whatever its length, and the unit's MTBF
    and MTTR in one more."""
    from modules.equipment.reliability import unit_reliability

    records = list(db.session.scalars(
        select(MaintenanceRecord).where(MaintenanceRecord.equipment_id == equipment.id)
        .options(joinedload(MaintenanceRecord.engineer))
        .order_by(MaintenanceRecord.id.desc())))
    return render_template("equipment/maintenance_section.html", equipment=equipment,
                           records=records,
                           stats=unit_reliability(equipment, svc.today(ctx)))


def equipment_sections() -> list[EquipmentSection]:
    return [
        EquipmentSection("order", "订单与安装", _order_section, sequence=10),
        EquipmentSection("maintenance", "维护记录", _maintenance_section, sequence=20),
    ]


# --- workspace and search ------------------------------------------------------------------


def _due_card(ctx: Any) -> CardContent:
    on = svc.today(ctx)
    horizon = on + timedelta(days=7)
    base = svc.search_equipment(ctx, due_before=horizon)
    total = db.session.scalar(base.with_only_columns(func.count()).order_by(None))
    overdue = db.session.scalar(base.with_only_columns(func.count()).order_by(None)
                                .where(Equipment.next_maintenance_date < on))
    rows = db.session.scalars(base.options(joinedload(Equipment.customer))
                              .order_by(Equipment.next_maintenance_date, Equipment.id)
                              .limit(SHOWN))
    due_url = url_for("equipment.due")
    items = tuple(TodoItem(e.display_name, url_for("equipment.detail", id=e.id),
                           detail=e.equipment_no,
                           badge=(_("已逾期") if e.next_maintenance_date < on
                                  else e.next_maintenance_date.isoformat()))
                  for e in rows)
    return CardContent(kpis=(Kpi(_("7天内待维护"), str(total), due_url),
                             Kpi(_("已逾期"), str(overdue), due_url)),
                       items=items, total=total, more_url=due_url,
                       empty_text=_("近 7 天没有待维护的设备"))


def workspace_cards() -> list[WorkspaceCard]:
    return [WorkspaceCard("equipment.maintenance_due", "待维护设备", _due_card, kind="todo",
                          permission="equipment.equipment.read", sequence=40)]


def _search(ctx: Any, term: str, limit: int) -> list[SearchHit]:
    term = (term or "").strip()
    if len(term) < 2:
        return []
    like = f"%{term[:100]}%"
    rows = db.session.scalars(
        svc.equipment_select(ctx).where(or_(Equipment.serial_number.ilike(like),
                                            Equipment.equipment_no.ilike(like)))
        .options(joinedload(Equipment.customer)).order_by(Equipment.id.desc()).limit(limit))
    return [SearchHit(f"{e.equipment_no} {e.display_name}",
                      url_for("equipment.detail", id=e.id),
                      detail=_("序列号 %(serial)s", serial=e.serial_number or "—"))
            for e in rows]


def searchers() -> list[Searcher]:
    return [Searcher("equipment", "设备", _search, permission="equipment.equipment.read",
                     sequence=40)]


def handover_items(customer_ids: list[int]) -> list[dict]:
    rows = db.session.execute(
        select(Equipment.equipment_no, Equipment.equipment_type, Equipment.install_location)
        .where(Equipment.customer_id.in_(customer_ids), Equipment.status != "retired")
        .order_by(Equipment.id)).all()
    if not rows:
        return []
    return [{"category": "equipment", "title": "在用设备", "count": len(rows),
             "detail": "、".join(f"{r.equipment_no} {r.install_location or ''}"
                                f"{r.equipment_type or ''}" for r in rows[:10])
             + ("…" if len(rows) > 10 else "")}]


def order_units(order: Any) -> list[dict]:
    """sales' ``order_units``: the units installed for an order, in one query."""
    base = current_app.config["TANDEM_BASE_URL"].rstrip("/") if not has_request_context() \
        else ""
    rows = db.session.execute(select(
        Equipment.id, Equipment.equipment_no, Equipment.serial_number, Equipment.equipment_type,
        Equipment.install_location, Equipment.warranty_end_date)
        .where(Equipment.order_id == order.id).order_by(Equipment.id))
    return [{**row._asdict(), "url": f"{base}/equipment/{row.id}"} for row in rows]
