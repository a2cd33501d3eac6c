"""Maintenance records, the maintenance order the preventive scan asks for, and the daily
preventive scan itself (reminders, overdue escalation, warranty expiry)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import literal
from sqlalchemy import select

from core import audit
from core.concurrency import dialect_insert
from core.errors import NotFoundError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.hooks import call
from core.services import ServiceContext
from core.settings import get_setting
from modules.equipment.models import MAINTENANCE_TYPES
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.equipment.models import MaintenanceReminder
from modules.equipment.services.equipment import get_equipment
from modules.equipment.services.equipment import plan_next
from modules.equipment.services.equipment import today

MAX_TEXT = 5000


def _clean(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    from modules.sales.services.orders import _user_id
    from modules.sales.services.orders import parse_amount
    from modules.sales.services.orders import parse_date

    kind = data.get("maintenance_type") or "routine"
    if kind not in MAINTENANCE_TYPES:
        raise ValidationError(_("维护类型无效"), fields={"maintenance_type": _("维护类型无效")})
    when = parse_date(data.get("maintenance_date"), "maintenance_date") or today(ctx)
    if when > today(ctx):
        raise ValidationError(_("维护日期不能晚于今天"),
                              fields={"maintenance_date": _("不能晚于今天")})
    out: dict[str, Any] = {"maintenance_type": kind, "maintenance_date": when}
    for key in ("work_description", "parts_replaced"):
        value = str(data.get(key) or "").strip() or None
        if value and len(value) > MAX_TEXT:
            raise ValidationError(_("内容过长"), fields={key: _("最多 5000 字")})
        out[key] = value
    if not out["work_description"]:
        raise ValidationError(_("请填写工作内容"), fields={"work_description": _("请填写工作内容")})
    cost = data.get("cost")
    out["cost"] = None if cost in (None, "") else parse_amount(cost, "cost")
    out["engineer_id"] = _user_id(ctx, data.get("engineer_id"), "engineer_id",
                                  role="engineer") if data.get("engineer_id") else ctx.actor_id
    out["next_maintenance_date"] = parse_date(data.get("next_maintenance_date"),
                                              "next_maintenance_date")
    if out["next_maintenance_date"] and out["next_maintenance_date"] <= when:
        raise ValidationError(_("下次维护日期必须晚于本次维护"),
                              fields={"next_maintenance_date": _("必须晚于本次维护")})
    return out


def _apply(ctx: ServiceContext, equipment: Equipment, record: MaintenanceRecord) -> None:
    """A done record moves the unit's last date, and the next one by its plan (or the
    record's own next date); an older record than the last one moves nothing."""
    if equipment.last_maintenance_date and record.maintenance_date < \
            equipment.last_maintenance_date:
        return
    equipment.last_maintenance_date = record.maintenance_date
    if equipment.status != "retired":
        equipment.next_maintenance_date = (record.next_maintenance_date
                                           or plan_next(equipment, record.maintenance_date))
    record.next_maintenance_date = equipment.next_maintenance_date


def add_record(ctx: ServiceContext, equipment_ref: str | int,
               data: Mapping[str, Any]) -> MaintenanceRecord:
    """A maintenance done on a visible unit (routine / repair / upgrade)."""
    ctx.require("equipment.maintenance.write")
    equipment = get_equipment(ctx, equipment_ref, for_update=True)
    if equipment.status == "retired":
        raise UserError(_("设备已报废，不能登记维护"))
    values = _clean(ctx, data)
    record = MaintenanceRecord(equipment_id=equipment.id, status="done", created_by=ctx.actor_id,
                               created_at=ctx.now, ticket_id=data.get("ticket_id"), **values)
    db.session.add(record)
    db.session.flush()
    _apply(ctx, equipment, record)
    db.session.flush()
    return record


def complete_record(ctx: ServiceContext, record_id: int,
                    data: Mapping[str, Any]) -> MaintenanceRecord:
    """Fill in a planned record (made by ``#生成维护工单`` without a service module)."""
    ctx.require("equipment.maintenance.write")
    record = db.session.get(MaintenanceRecord, record_id)
    if record is None:
        raise NotFoundError(_("维护记录不存在"))
    equipment = get_equipment(ctx, record.equipment_id, for_update=True)
    if record.status == "done":
        raise UserError(_("该维护记录已完成"))
    for key, value in _clean(ctx, {"maintenance_type": record.maintenance_type, **data}).items():
        setattr(record, key, value)
    record.status = "done"
    db.session.flush()
    _apply(ctx, equipment, record)
    db.session.flush()
    audit.record(ctx, equipment, "maintenance", _("完成维护"), {})
    return record


# --- the maintenance order -------------------------------------------------------------


def request_maintenance_order(ctx: ServiceContext, equipment_ref: str | int,
                              due_date: date | None = None) -> tuple[str, str, bool]:
    """``#生成维护工单`` and the card's button: a service ticket of type maintenance when a
    module answers ``maintenance_order_requested``, else a maintenance record to fill in.
    Once per (unit, due date): a repeat answers what was made. Returns (kind, reference,
    created)."""
    ctx.require("equipment.maintenance.write")
    equipment = get_equipment(ctx, equipment_ref, for_update=True)
    if equipment.status == "retired":
        raise UserError(_("设备已报废，不能生成维护工单"))
    due = due_date or equipment.next_maintenance_date or today(ctx)
    reminder = db.session.scalar(select(MaintenanceReminder).where(
        MaintenanceReminder.equipment_id == equipment.id, MaintenanceReminder.due_date == due,
        MaintenanceReminder.kind == "due"))
    if reminder is None:
        reminder = MaintenanceReminder(equipment_id=equipment.id, due_date=due, kind="due",
                                       created_at=ctx.now)
        db.session.add(reminder)
        db.session.flush()
    elif reminder.order_ref:
        kind, _sep, ref = reminder.order_ref.partition(":")
        return kind, ref, False
    ticket = call("maintenance_order_requested", equipment=equipment, due_date=due, ctx=ctx)
    if ticket is not None:
        kind, ref = "ticket", str(getattr(ticket, "ticket_no", None) or ticket.id)
    else:
        record = MaintenanceRecord(equipment_id=equipment.id, maintenance_type="routine",
                                   status="planned", due_date=due,
                                   engineer_id=equipment.engineer_id or ctx.actor_id,
                                   created_by=ctx.actor_id, created_at=ctx.now)
        db.session.add(record)
        db.session.flush()
        kind, ref = "record", str(record.id)
    reminder.order_ref = f"{kind}:{ref}"
    db.session.flush()
    audit.record(ctx, equipment, "maintenance_order",
                 f"生成维护工单（{'工单 ' + ref if kind == 'ticket' else '维护记录 #' + ref}）",
                 {"due_date": [None, due.isoformat()]})
    return kind, ref, True


# --- the daily preventive scan -----------------------------------------------------------


def _insert_reminders(kind: str, due_column: Any, where: Any, now: Any) -> list[int]:
    """One ``INSERT … SELECT`` of the reminders not sent yet; the unique (unit, due date,
    kind) makes a concurrent or repeated run insert nothing. Returns the new reminder ids."""
    sent = exists().where(MaintenanceReminder.equipment_id == Equipment.id,
                          MaintenanceReminder.due_date == due_column,
                          MaintenanceReminder.kind == kind)
    source = select(Equipment.id, due_column, literal(kind),
                    literal(now, type_=MaintenanceReminder.__table__.c.created_at.type)
                    ).where(where, ~sent)
    stmt = (dialect_insert(MaintenanceReminder)
            .from_select(["equipment_id", "due_date", "kind", "created_at"], source)
            .on_conflict_do_nothing(index_elements=["equipment_id", "due_date", "kind"])
            .returning(MaintenanceReminder.id))
    return list(db.session.scalars(stmt))


def scan(ctx: ServiceContext, on: date | None = None) -> dict[str, int]:
    """Once a day: a reminder for each unit whose next maintenance is within the lead days
    (card to the service group and the unit's engineer), one escalation to the manager for
    each overdue one, and a warranty-expiry alert to the sales owner ahead of time. Each is
    sent once per (unit, due date): a rerun sends nothing."""
    from modules.equipment import push

    on = on or today(ctx)
    lead = int(get_setting("equipment.remind_days") or 7)
    warranty_lead = int(get_setting("equipment.warranty_remind_days") or 30)
    in_use = Equipment.status == "in_use"
    due_ids = _insert_reminders(
        "due", Equipment.next_maintenance_date,
        and_(in_use, Equipment.next_maintenance_date <= on + timedelta(days=lead)), ctx.now)
    overdue_ids = _insert_reminders(
        "overdue", Equipment.next_maintenance_date,
        and_(in_use, Equipment.next_maintenance_date < on), ctx.now)
    warranty_ids = _insert_reminders(
        "warranty", Equipment.warranty_end_date,
        and_(Equipment.status != "retired", Equipment.warranty_end_date >= on,
             Equipment.warranty_end_date <= on + timedelta(days=warranty_lead)), ctx.now)
    push.reminders(ctx, due_ids, overdue_ids, warranty_ids, on)
    return {"due": len(due_ids), "overdue": len(overdue_ids), "warranty": len(warranty_ids)}
