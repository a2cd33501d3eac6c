"""The ticket's project (sales order) and equipment: auto-matching at intake and the
warranty status on the service date. Sales and equipment are read through their models
when installed; without them the ticket keeps plain ids."""

from __future__ import annotations

from datetime import date
from importlib import import_module
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import ValidationError
from core.extensions import db

# Orders whose project is still running (the sales status machine's in-progress states).
IN_PROGRESS_ORDER_STATUSES = ("confirmed", "paid", "delivered", "installed")


def _model(path: str, name: str) -> Any:
    try:
        return getattr(import_module(path), name)
    except (ImportError, AttributeError):
        return None


def order_model() -> Any:
    model = _model("modules.sales.models", "Order")
    return model if model is not None and _installed(model) else None


def equipment_model() -> Any:
    model = _model("modules.equipment.models", "Equipment")
    return model if model is not None and _installed(model) else None


def _installed(model: Any) -> bool:
    from core.hooks import registry

    try:
        return any(model in models for models in registry().models.values())
    except Exception:  # outside an app (unit tests of pure functions)
        return False


def match_project(ticket: Any, data: dict) -> None:
    """Fill ``order_id`` / ``equipment_id``: given ids are checked against the customer;
    an equipment serial finds the equipment (and its order); otherwise the customer's most
    recent in-progress order (seed 001: 自动匹配客户项目)."""
    Order, Equipment = order_model(), equipment_model()
    errors: dict[str, str] = {}
    equipment = None
    serial = str(data.get("equipment_serial") or "").strip()
    if data.get("equipment_id"):
        equipment_id = _int(data["equipment_id"])
        if Equipment is not None:
            equipment = db.session.get(Equipment, equipment_id) if equipment_id else None
            if equipment is None or equipment.customer_id != ticket.customer_id:
                errors["equipment_id"] = _("设备不存在或不属于该客户")
        elif equipment_id is None:
            errors["equipment_id"] = _("设备编号无效")
        else:
            ticket.equipment_id = equipment_id
    elif serial and Equipment is not None:
        equipment = db.session.scalar(select(Equipment).where(
            Equipment.serial_number == serial, Equipment.customer_id == ticket.customer_id))
        if equipment is None:
            errors["equipment_serial"] = _("该客户名下没有序列号为 %(serial)s 的设备",
                                           serial=serial)
    if equipment is not None:
        ticket.equipment_id = equipment.id
    if data.get("order_id"):
        order_id = _int(data["order_id"])
        if Order is not None:
            order = db.session.get(Order, order_id) if order_id else None
            if order is None or order.customer_id != ticket.customer_id:
                errors["order_id"] = _("订单不存在或不属于该客户")
            else:
                ticket.order_id = order.id
        elif order_id is None:
            errors["order_id"] = _("订单编号无效")
        else:
            ticket.order_id = order_id
    elif equipment is not None and getattr(equipment, "order_id", None):
        ticket.order_id = equipment.order_id
    elif Order is not None:
        ticket.order_id = latest_in_progress_order(ticket.customer_id)
    if errors:
        raise ValidationError.of_fields(errors)
    if equipment is not None and not ticket.address:
        ticket.address = getattr(equipment, "install_location", None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def latest_in_progress_order(customer_id: int) -> int | None:
    Order = order_model()
    if Order is None:
        return None
    stmt = select(Order.id).where(Order.customer_id == customer_id)
    status = getattr(Order, "status", None)
    if status is not None:
        running = db.session.scalar(stmt.where(status.in_(IN_PROGRESS_ORDER_STATUSES))
                                    .order_by(Order.id.desc()).limit(1))
        if running is not None:
            return running
    return None


def warranty_status(equipment_id: int | None, on: date) -> str:
    """``in_warranty`` / ``out_of_warranty`` on the service date, from the equipment's
    warranty end date; ``unknown`` without one."""
    Equipment = equipment_model()
    if equipment_id is None or Equipment is None:
        return "unknown"
    equipment = db.session.get(Equipment, equipment_id)
    end = getattr(equipment, "warranty_end_date", None) if equipment is not None else None
    if end is None:
        return "unknown"
    return "in_warranty" if on <= end else "out_of_warranty"


def order_owner_id(order_id: int | None) -> int | None:
    """The project's owner (seed 001 ``project.assigned_to``): the order's owner."""
    Order = order_model()
    if order_id is None or Order is None:
        return None
    order = db.session.get(Order, order_id)
    for attr in ("owner_id", "assigned_to_id", "sales_user_id"):
        value = getattr(order, attr, None) if order is not None else None
        if value:
            return value
    return None


def order_label(order_id: int | None) -> str | None:
    Order = order_model()
    if order_id is None:
        return None
    if Order is None:
        return f"#{order_id}"
    order = db.session.get(Order, order_id)
    return getattr(order, "order_no", None) or f"#{order_id}" if order is not None else None


def equipment_label(equipment_id: int | None) -> str | None:
    Equipment = equipment_model()
    if equipment_id is None:
        return None
    equipment = db.session.get(Equipment, equipment_id) if Equipment is not None else None
    if equipment is None:
        return f"#{equipment_id}"
    parts = [getattr(equipment, k, None) for k in ("brand", "model", "install_location")]
    name = " ".join(p for p in parts if p) or getattr(equipment, "equipment_no", "")
    return name or f"#{equipment_id}"


def order_url(order_id: int | None) -> str | None:
    """The project link pushed with the ticket (the sales order's page)."""
    if order_id is None or order_model() is None:
        return None
    return f"/sales/orders/{order_id}"
