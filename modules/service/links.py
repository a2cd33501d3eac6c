"""The ticket's project (sales order) and equipment: auto-matching at intake, the
warranty status on the service date, and the labels and links pushes and cards show."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import FieldErrors
from core.extensions import db
from core.security.permissions import has_permission
from modules.equipment.models import Equipment
from modules.sales.models import OPEN_STATUSES as ORDER_OPEN_STATUSES
from modules.sales.models import Order


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def match_project(ticket: Any, data: dict) -> None:
    """Fill ``order_id`` / ``equipment_id``: given ids are checked against the customer;
    an equipment serial finds the equipment (and its order); otherwise the customer's most
    recent in-progress order (seed 001: 自动匹配客户项目)."""
    errors = FieldErrors()
    equipment = None
    serial = str(data.get("equipment_serial") or "").strip()
    if data.get("equipment_id"):
        equipment_id = _int(data["equipment_id"])
        equipment = db.session.get(Equipment, equipment_id) if equipment_id else None
        if equipment is None or equipment.customer_id != ticket.customer_id:
            errors.add("equipment_id", _("设备不存在或不属于该客户"))
            equipment = None
    elif serial:
        equipment = db.session.scalar(select(Equipment).where(
            Equipment.serial_number == serial, Equipment.customer_id == ticket.customer_id))
        if equipment is None:
            errors.add("equipment_serial", _("该客户名下没有序列号为 %(serial)s 的设备",
                                             serial=serial))
    if equipment is not None:
        ticket.equipment_id = equipment.id
    if data.get("order_id"):
        order_id = _int(data["order_id"])
        order = db.session.get(Order, order_id) if order_id else None
        if order is None or order.customer_id != ticket.customer_id:
            errors.add("order_id", _("订单不存在或不属于该客户"))
        else:
            ticket.order_id = order.id
    elif equipment is not None and equipment.order_id:
        ticket.order_id = equipment.order_id
    else:
        ticket.order_id = latest_in_progress_order(ticket.customer_id)
    errors.raise_if_any()
    if equipment is not None and equipment.install_location and not data.get("address"):
        ticket.address = equipment.install_location


def latest_in_progress_order(customer_id: int) -> int | None:
    """The customer's most recent order still in progress."""
    return db.session.scalar(select(Order.id).where(
        Order.customer_id == customer_id, Order.status.in_(ORDER_OPEN_STATUSES))
        .order_by(Order.created_at.desc(), Order.id.desc()).limit(1))


def warranty_status(equipment_id: int | None, on: date) -> str:
    """``in_warranty`` / ``out_of_warranty`` on the service date, from the equipment's
    warranty end date; ``unknown`` without one."""
    equipment = db.session.get(Equipment, equipment_id) if equipment_id else None
    end = equipment.warranty_end_date if equipment is not None else None
    if end is None:
        return "unknown"
    return "in_warranty" if on <= end else "out_of_warranty"


def order_owner_id(order_id: int | None) -> int | None:
    """The project's owner (seed 001 ``project.assigned_to``) who can serve the ticket: the
    order's engineer, else its project manager, else its salesperson."""
    order = db.session.get(Order, order_id) if order_id else None
    if order is None:
        return None
    for user in (order.engineer, order.project_manager, order.sales_user):
        if user is not None and user.active and has_permission(user, "service.ticket.write"):
            return user.id
    return None


def sales_owner(order_id: int | None) -> Any:
    order = db.session.get(Order, order_id) if order_id else None
    return order.sales_user if order is not None else None


def order_label(order_id: int | None) -> str | None:
    order = db.session.get(Order, order_id) if order_id else None
    return order.order_no if order is not None else None


def equipment_label(equipment_id: int | None) -> str | None:
    equipment = db.session.get(Equipment, equipment_id) if equipment_id else None
    if equipment is None:
        return None
    parts = [equipment.install_location, equipment.brand, equipment.model]
    return " ".join(p for p in parts if p) or equipment.equipment_no


def order_url(order_id: int | None) -> str | None:
    """The project link pushed with the ticket (the sales order's page)."""
    return f"/sales/orders/{order_id}" if order_id else None


def record_maintenance(ctx: Any, ticket: Any) -> Any:
    """A resolved ticket on a unit becomes its maintenance record (repair or routine), which
    moves the unit's last and next maintenance dates (seed 000 §7 scenario 2, step 6)."""
    from core.services import ServiceContext
    from modules.equipment.services.maintenance import add_record

    if ticket.equipment_id is None:
        return None
    kind = "routine" if ticket.ticket_type == "maintenance" else "repair"
    work = ticket.solution or ticket.subject
    if ticket.root_cause:
        work = f"{ticket.root_cause}；{work}"
    data = {"maintenance_type": kind, "work_description": f"{ticket.ticket_no} {work}"[:5000],
            "parts_replaced": ticket.parts_used, "ticket_id": ticket.id,
            "cost": ticket.total_fee if ticket.total_fee else None,
            "engineer_id": ticket.assignee_id}
    # The record follows from the resolution: written even when the engineer may not edit
    # equipment himself (the audit keeps the channel; the record names the engineer).
    actor_ctx = ctx if ctx.can("equipment.maintenance.write") else ServiceContext(
        actor=None, source=ctx.source, now=ctx.now)
    return add_record(actor_ctx, ticket.equipment_id, data)


_DIGITS = re.compile(r"\d{7,}")


def shared_tickets(order_id: int) -> list[dict]:
    """An order's tickets as its read-only link shows them: number, type, status, subject
    (with phone-like numbers masked), created and resolved days. No description, notes,
    contacts, addresses or staff."""
    from modules.sales.services.sharing import mask_phone
    from modules.service.models import STATUSES
    from modules.service.models import TICKET_TYPES
    from modules.service.models import Ticket

    rows = db.session.execute(
        select(Ticket.ticket_no, Ticket.ticket_type, Ticket.status, Ticket.subject,
               Ticket.created_at, Ticket.resolved_at)
        .where(Ticket.order_id == order_id).order_by(Ticket.id.desc()).limit(100))
    return [{"ticket_no": r.ticket_no,
             "type_label": _(TICKET_TYPES.get(r.ticket_type, r.ticket_type)),
             "status_label": _(STATUSES.get(r.status, r.status)),
             "subject": _DIGITS.sub(lambda m: mask_phone(m.group()), r.subject or ""),
             "created_on": r.created_at.date() if r.created_at else None,
             "resolved_on": r.resolved_at.date() if r.resolved_at else None} for r in rows]
