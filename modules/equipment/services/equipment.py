"""Equipment records: created by an order's installation and changed (location, plan,
status with reason and date) by the services here; reads are in ``modules/equipment/queries.py``
(re-exported here for the callers that hold this module)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from core import audit
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from modules.equipment import plans
from modules.equipment.models import NUMBER_PREFIX
from modules.equipment.models import STATUSES
from modules.equipment.models import Equipment
from modules.equipment.models import EquipmentSequence
from modules.equipment.queries import equipment_select  # noqa: F401 - re-exported
from modules.equipment.queries import expiring_days  # noqa: F401 - re-exported
from modules.equipment.queries import get_equipment
from modules.equipment.queries import holiday_policy
from modules.equipment.queries import search_equipment  # noqa: F401 - re-exported
from modules.equipment.queries import today
from modules.equipment.queries import warranty_status  # noqa: F401 - re-exported
from modules.equipment.queries import warranty_where  # noqa: F401 - re-exported

# --- creating --------------------------------------------------------------------------


def next_number(ctx: ServiceContext) -> str:
    """``EQ`` + year + a 6-digit sequence of that year (same counter pattern as orders)."""
    year = today(ctx).strftime("%Y")
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(EquipmentSequence).values(year=year, last=1).on_conflict_do_update(
        index_elements=[EquipmentSequence.year], set_={"last": EquipmentSequence.last + 1})
    last = db.session.execute(stmt.returning(EquipmentSequence.last)).scalar_one()
    return f"{NUMBER_PREFIX}{year}{last:06d}"


def _check_serial_free(brand: str | None, serial: str, field: str,
                       exclude_id: int | None = None) -> None:
    stmt = select(Equipment.id).where(Equipment.serial_number == serial,
                                      Equipment.brand.is_(None) if brand is None
                                      else Equipment.brand == brand)
    if exclude_id is not None:
        stmt = stmt.where(Equipment.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise ValidationError(_("序列号 %(serial)s 已登记（同一品牌的序列号不能重复）",
                                serial=serial), fields={field: _("序列号已存在")})


def create_from_installation(ctx: ServiceContext, order: Any,
                             installations: list[dict]) -> list[Equipment]:
    """sales' ``order_installed``: one equipment record per installed unit, in the order's
    transaction. Every delivered unit needs its serial number; a line gets no more units
    than were delivered; serials are unique per brand (within the batch too)."""
    by_line: dict[int, list[dict]] = {}
    for unit in installations:
        by_line.setdefault(unit["line"].id, []).append(unit)
    existing = dict(db.session.execute(
        select(Equipment.order_line_id, func.count()).where(Equipment.order_id == order.id)
        .group_by(Equipment.order_line_id)).all())
    for line in order.lines:
        wanted = line.delivered_quantity - existing.get(line.id, 0)
        given = len(by_line.get(line.id, []))
        if given != wanted:
            raise ValidationError(
                _("“%(product)s”已配送 %(n)s 台，请为每台填写序列号（已填 %(given)s 个）",
                  product=line.product_name, n=wanted, given=given),
                fields={"serials": _("序列号数量与已配送数量不符")})
    seen: set[tuple[str | None, str]] = set()
    for i, unit in enumerate(installations):
        key = (unit["line"].brand, unit["serial_number"])
        if key in seen:
            raise ValidationError(_("序列号 %(serial)s 重复", serial=unit["serial_number"]),
                                  fields={f"serials.{i}.serial_number": _("序列号重复")})
        seen.add(key)
        _check_serial_free(key[0], key[1], f"serials.{i}.serial_number")
    policy = holiday_policy()
    created = []
    for unit in installations:
        line, installed = unit["line"], unit["install_date"]
        equipment = Equipment(
            equipment_no=next_number(ctx), order_id=order.id, order_line_id=line.id,
            customer_id=order.customer_id, customer_phone=order.customer_phone,
            equipment_type=line.equipment_type or line.product_name, brand=line.brand,
            model=line.model, serial_number=unit["serial_number"], install_date=installed,
            install_location=unit["install_location"], warranty_months=line.warranty_months,
            warranty_end_date=plans.warranty_end(installed, line.warranty_months),
            status="in_use", maintenance_cycle_days=line.maintenance_cycle_days,
            maintenance_cycle_months=0, engineer_id=order.engineer_id or ctx.actor_id,
            next_maintenance_date=plans.next_maintenance(
                installed, days=line.maintenance_cycle_days, policy=policy))
        db.session.add(equipment)
        created.append(equipment)
    db.session.flush()
    for equipment in created:
        audit.record(ctx, "sales_order", "equipment",
                     f"安装设备 {equipment.equipment_no}（{equipment.serial_number}）", {},
                     record_id=order.id)
    return created


def register_unit(ctx: ServiceContext, data: Mapping[str, Any]) -> Equipment:
    """A unit installed before Tandem (Excel import, issue 19 #3): for a customer the actor
    may see (``customer_id``), with its serial (unique per brand), install date and place;
    warranty end and next maintenance follow from them as for an installation."""
    from modules.crm.models.customer import Customer

    ctx.require("equipment.equipment.write")
    errors: dict[str, str] = {}
    customer = None
    if data.get("customer_id"):
        customer = db.session.scalar(ctx.scoped(
            select(Customer).where(Customer.id == int(data["customer_id"])), Customer))
    if customer is None:
        errors["customer_id"] = _("客户不存在")
    serial = str(data.get("serial_number") or "").strip()
    if not serial:
        errors["serial_number"] = _("请填写序列号")
    elif len(serial) > 100:
        errors["serial_number"] = _("最多 %(n)s 字", n=100)
    installed = data.get("install_date")
    if installed is not None and not isinstance(installed, date):
        errors["install_date"] = _("日期格式不正确（例如 2024-05-01）")
    texts = {}
    for key, limit in (("equipment_type", 50), ("brand", 50), ("model", 100),
                       ("install_location", 200)):
        value = str(data.get(key) or "").strip() or None
        if value is not None and len(value) > limit:
            errors[key] = _("最多 %(n)s 字", n=limit)
        texts[key] = value
    months = data.get("warranty_months")
    cycle = data.get("maintenance_cycle_days")
    if errors:
        raise ValidationError.of_fields(errors)
    months = 36 if months in (None, "") else _int(months, "warranty_months", 240,
                                                  _("质保月数应为 0–240 的整数"))
    cycle = 90 if cycle in (None, "") else _int(cycle, "maintenance_cycle_days", 3650,
                                                _("保养周期应为 0–3650 的整数"))
    _check_serial_free(texts["brand"], serial, "serial_number")
    if isinstance(installed, datetime):
        installed = installed.date()
    assert customer is not None
    equipment = Equipment(
        equipment_no=next_number(ctx), customer_id=customer.id,
        customer_phone=customer.phone, serial_number=serial, install_date=installed,
        warranty_months=months, warranty_end_date=plans.warranty_end(installed, months),
        status="in_use", maintenance_cycle_days=cycle, maintenance_cycle_months=0,
        next_maintenance_date=plans.next_maintenance(
            installed, days=cycle, policy=holiday_policy()) if installed else None,
        **texts)
    db.session.add(equipment)
    db.session.flush()
    return equipment


# --- changing --------------------------------------------------------------------------


def _int(raw: Any, field: str, high: int, message: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationError(message, fields={field: message}) from exc
    if isinstance(raw, bool) or not 0 <= value <= high:
        raise ValidationError(message, fields={field: message})
    return value


def update_equipment(ctx: ServiceContext, ref: str | int,
                     data: Mapping[str, Any]) -> Equipment:
    """Change the location, engineer, plan, warranty months or status (``under_repair`` /
    ``retired`` / back ``in_use``; a reason is required to leave ``in_use``, and the date
    defaults to today). The warranty end and the next maintenance follow their inputs."""
    from modules.sales.services.orders import parse_date

    ctx.require("equipment.equipment.write")
    equipment = get_equipment(ctx, ref, for_update=True)
    if equipment.status == "retired" and data.get("status") not in (None, "retired"):
        raise ValidationError(_("已报废的设备不能恢复"), fields={"status": _("已报废")})
    for key, size in (("install_location", 200), ("equipment_type", 50), ("model", 100)):
        if key in data:
            value = str(data.get(key) or "").strip() or None
            if value and len(value) > size:
                raise ValidationError(_("内容过长"), fields={key: _("内容过长")})
            setattr(equipment, key, value)
    if "serial_number" in data or "brand" in data:
        serial = str(data.get("serial_number", equipment.serial_number) or "").strip()
        brand = str(data.get("brand", equipment.brand) or "").strip() or None
        if not serial:
            raise ValidationError(_("请填写序列号"), fields={"serial_number": _("请填写序列号")})
        _check_serial_free(brand, serial, "serial_number", exclude_id=equipment.id)
        equipment.serial_number, equipment.brand = serial[:100], (brand or None)
    if "engineer_id" in data:
        from modules.sales.services.orders import _user_id

        equipment.engineer_id = _user_id(ctx, data.get("engineer_id"), "engineer_id",
                                         role="engineer")
    replan = False
    if "warranty_months" in data:
        equipment.warranty_months = _int(data["warranty_months"], "warranty_months", 240,
                                         _("保修月数必须是 0 至 240 的整数"))
        equipment.warranty_end_date = plans.warranty_end(equipment.install_date,
                                                         equipment.warranty_months)
    if "install_date" in data:
        installed = parse_date(data["install_date"], "install_date")
        if installed is None:
            raise ValidationError(_("请填写安装日期"), fields={"install_date": _("请填写安装日期")})
        equipment.install_date = installed
        equipment.warranty_end_date = plans.warranty_end(installed, equipment.warranty_months)
        replan = True
    for key, high in (("maintenance_cycle_days", 3650), ("maintenance_cycle_months", 120)):
        if key in data:
            setattr(equipment, key, _int(data[key], key, high, _("维护周期无效")))
            replan = True
    if "next_maintenance_date" in data:
        equipment.next_maintenance_date = parse_date(data["next_maintenance_date"],
                                                     "next_maintenance_date")
    elif replan:
        equipment.next_maintenance_date = plan_next(
            equipment, equipment.last_maintenance_date or equipment.install_date)
    if data.get("status") not in (None, equipment.status):
        _set_status(ctx, equipment, str(data["status"]), data.get("status_reason"),
                    parse_date(data.get("status_date"), "status_date"))
    db.session.flush()
    return equipment


def plan_next(equipment: Equipment, start: date | None) -> date | None:
    if start is None:
        return None
    return plans.next_maintenance(start, days=equipment.maintenance_cycle_days or 0,
                                  months=equipment.maintenance_cycle_months or 0,
                                  policy=holiday_policy())


def _set_status(ctx: ServiceContext, equipment: Equipment, status: str, reason: Any,
                when: date | None) -> None:
    if status not in STATUSES:
        raise ValidationError(_("状态无效"), fields={"status": _("状态无效")})
    reason = str(reason or "").strip()
    if status != "in_use" and not reason:
        raise ValidationError(_("请填写原因（维修或报废）"),
                              fields={"status_reason": _("请填写原因")})
    when = when or today(ctx)
    if when > today(ctx):
        raise ValidationError(_("日期不能晚于今天"), fields={"status_date": _("不能晚于今天")})
    previous = equipment.status
    equipment.status, equipment.status_reason, equipment.status_date = (
        status, reason[:2000] or None, when)
    if status == "retired":
        equipment.next_maintenance_date = None
    audit.record(ctx, equipment, "status", reason or None, {"status": [previous, status]})
