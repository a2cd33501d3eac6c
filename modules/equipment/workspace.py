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
from markupsafe import Markup
from markupsafe import escape
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
from core.security.models import User
from core.web.links import record_url
from core.web.templating import money
from core.web.templating import translated
from modules.equipment.hookspecs import EquipmentSection
from modules.equipment.models import MAINTENANCE_TYPES
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


def _records_html(records: list[Any], can_write: bool) -> Markup:
    """The history's items, written in Python in one piece (a unit may have hundreds of
    records; Jinja's per-expression cost made them most of the 360° view's time)."""
    types = {k: str(escape(v)) for k, v in translated(MAINTENANCE_TYPES).items()}
    planned, plan, fill, parts = (str(escape(_(text))) for text in
                                  ("待填写", "计划", "填写", "更换配件"))
    fill_url = record_url("equipment.complete_record", "record_id")
    out = []
    for r in records:
        head = (f'<span class="badge text-bg-light border">'
                f"{types.get(r.maintenance_type) or escape(r.maintenance_type)}</span> ")
        if r.status == "planned":
            head += (f'<span class="badge text-bg-warning">{planned}</span> {plan} '
                     f"{r.due_date or ''}")
            if can_write:
                head += f' <a href="{fill_url(r.id)}">{fill}</a>'
        else:
            head += (f"{r.maintenance_date or ''} · {escape(r.engineer_name or '')}"
                     + (f" · {money(r.cost)}" if r.cost is not None else ""))
        if r.work_description:
            head += (f'<div class="text-break" style="white-space: pre-wrap">'
                     f"{escape(r.work_description)}</div>")
        if r.parts_replaced:
            head += (f'<div class="text-body-secondary">{parts}：'
                     f"{escape(r.parts_replaced)}</div>")
        out.append(f'<li class="border-top py-1" data-record="{int(r.id)}">{head}</li>')
    return Markup("".join(out))  # noqa: S704 - every value escaped above


def _maintenance_section(equipment: Any, ctx: Any) -> str:
    """The whole maintenance history in one query of plain rows, whatever its length, and
    the unit's MTBF and MTTR (from those rows, or one more query when a module answers
    ``equipment_repairs``)."""
    from modules.equipment.reliability import unit_reliability

    record = MaintenanceRecord
    records = db.session.execute(
        select(record.id, record.maintenance_type, record.status, record.due_date,
               record.maintenance_date, record.cost, record.work_description,
               record.parts_replaced, record.created_at,
               func.coalesce(User.display_name, User.username).label("engineer_name"))
        .outerjoin(User, User.id == record.engineer_id)
        .where(record.equipment_id == equipment.id).order_by(record.id.desc())).all()
    return render_template("equipment/maintenance_section.html", equipment=equipment,
                           records=records,
                           records_html=_records_html(
                               records, ctx.can("equipment.maintenance.write")),
                           stats=unit_reliability(equipment, svc.today(ctx), records))


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
    # who plans and records maintenance: not every reader of the register (the warehouse)
    return [WorkspaceCard("equipment.maintenance_due", "待维护设备", _due_card, kind="todo",
                          permission="equipment.maintenance.write", sequence=40)]


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
