"""REST API for equipment under ``/api/v1``: list with filters, one unit, changes, and
maintenance records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import datetime
from operator import itemgetter
from typing import Any
from typing import Literal

from flask import Blueprint
from flask import request
from flask_babel import gettext as _
from pydantic import Field

from core import api
from core.errors import ValidationError
from modules.equipment import plans
from modules.equipment.models import Equipment
from modules.equipment.services import equipment as svc
from modules.equipment.services import maintenance

bp = Blueprint("equipment_api", __name__, url_prefix=api.API_PREFIX)

Warranty = Literal["in", "expiring", "out"]


class EquipmentOut(api.ApiOut):
    id: int
    equipment_no: str
    order_id: int | None
    customer_id: int
    customer_phone: str | None
    equipment_type: str | None
    brand: str | None
    model: str | None
    serial_number: str | None
    install_date: date | None
    install_location: str | None
    warranty_months: int
    warranty_end_date: date | None
    warranty_status: Warranty | None
    status: Literal["in_use", "under_repair", "retired"]
    status_reason: str | None
    status_date: date | None
    maintenance_cycle_days: int
    maintenance_cycle_months: int
    last_maintenance_date: date | None
    next_maintenance_date: date | None
    engineer_id: int | None
    created_at: datetime
    updated_at: datetime


class EquipmentPatch(api.ApiIn):
    install_location: str | None = Field(default=None, max_length=200)
    install_date: date | None = None
    equipment_type: str | None = Field(default=None, max_length=50)
    brand: str | None = Field(default=None, max_length=50)
    model: str | None = Field(default=None, max_length=100)
    serial_number: str | None = Field(default=None, min_length=1, max_length=100)
    warranty_months: int | None = Field(default=None, ge=0, le=240)
    maintenance_cycle_days: int | None = Field(default=None, ge=0, le=3650)
    maintenance_cycle_months: int | None = Field(default=None, ge=0, le=120)
    next_maintenance_date: date | None = None
    engineer_id: int | None = Field(default=None, ge=1)
    status: Literal["in_use", "under_repair", "retired"] | None = None
    status_reason: str | None = Field(default=None, max_length=2000)
    status_date: date | None = None


class RecordIn(api.ApiIn):
    maintenance_type: Literal["routine", "repair", "upgrade"] = "routine"
    maintenance_date: date | None = None
    engineer_id: int | None = Field(default=None, ge=1)
    work_description: str = Field(min_length=1, max_length=5000)
    parts_replaced: str | None = Field(default=None, max_length=5000)
    cost: api.NonNegativeMoney | None = None
    next_maintenance_date: date | None = None


class RecordOut(api.ApiOut):
    id: int
    equipment_id: int
    maintenance_type: str
    status: str
    maintenance_date: date | None
    engineer_id: int | None
    work_description: str | None
    parts_replaced: str | None
    cost: api.Money | None
    next_maintenance_date: date | None
    ticket_id: int | None
    created_at: datetime


_FIELDS = tuple(name for name in EquipmentOut.model_fields if name != "warranty_status")


def _out(equipment: Equipment, on: date, days: int | None = None) -> dict:
    data = {name: getattr(equipment, name) for name in _FIELDS}
    data["warranty_status"] = svc.warranty_status(equipment, on, days)
    return data


def _listed(stmt: Any) -> Any:
    """The list's rows as plain columns of the unit (no ORM objects)."""
    return stmt.with_only_columns(*Equipment.__table__.c, maintain_column_froms=True)


_ANSWER = tuple(EquipmentOut.model_fields)  # an answer's fields, in the model's order


def _listed_writer(fields: tuple[str, ...], on: date, days: int) -> Callable[[Any], dict]:
    """The answer for a row of :func:`_listed` (whose columns are ``fields``), as
    :func:`_out` gives it: values taken by positions found once per page, the warranty
    status computed from the row's end date."""
    values = itemgetter(*(fields.index("warranty_end_date" if name == "warranty_status"
                                       else name) for name in _ANSWER))
    status_of = plans.warranty_status

    def answer(row: Any) -> dict:
        written = dict(zip(_ANSWER, values(row), strict=True))
        written["warranty_status"] = status_of(written["warranty_status"], on, days)
        return written

    return answer


EQUIPMENT = api.Listing(
    Equipment,
    sort={"next_maintenance_date": Equipment.next_maintenance_date,
          "warranty_end_date": Equipment.warranty_end_date,
          "install_date": Equipment.install_date},
    default_sort="-id",
    filters={"status": Equipment.status, "equipment_type": Equipment.equipment_type,
             "brand": Equipment.brand, "order_id": Equipment.order_id},
    search=[Equipment.equipment_no, Equipment.serial_number, Equipment.model],
)


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(_("日期格式不正确"), fields={name: _("日期格式不正确")}) from exc


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) >= 2**31:
        raise ValidationError(_("参数无效"), fields={name: _("必须是正整数")})
    return int(raw)


@api.route(bp, "/equipment", permission="equipment.equipment.read", response=EquipmentOut,
           listing=EQUIPMENT, tags=["equipment"])
def list_equipment(ctx):  # noqa: ANN001, ANN201
    """Equipment the caller may see; ``customer_id``, ``warranty`` (in / expiring / out)
    and ``due_before`` (next maintenance on or before that day) filter it."""
    warranty = request.args.get("warranty") or None
    if warranty not in (None, "in", "expiring", "out"):
        raise ValidationError(_("保修状态无效"),
                              fields={"warranty": _("可选 in / expiring / out")})
    base = svc.search_equipment(ctx, customer_id=_int_arg("customer_id"), warranty=warranty,
                                due_before=_date_arg("due_before"))
    page = EQUIPMENT.page(ctx, base, row_select=_listed)
    if page.items:
        write = _listed_writer(page.items[0]._fields, svc.today(ctx), svc.expiring_days())
        page.items = [write(row) for row in page.items]
    page.shaped = True  # as EquipmentOut gives them (test_equipment.py)
    return page


@api.route(bp, "/equipment/<int:equipment_id>", permission="equipment.equipment.read",
           response=EquipmentOut, tags=["equipment"])
def get_equipment(ctx, equipment_id: int):  # noqa: ANN001, ANN201
    """One unit (404 when the caller may not see it)."""
    return _out(svc.get_equipment(ctx, equipment_id), svc.today(ctx))


@api.route(bp, "/equipment/<int:equipment_id>", methods=["PATCH"],
           permission="equipment.equipment.write", body=EquipmentPatch,
           response=EquipmentOut, tags=["equipment"])
def update_equipment(ctx, equipment_id: int, body: EquipmentPatch):  # noqa: ANN001, ANN201
    """Change the fields sent; leaving ``in_use`` needs a ``status_reason``."""
    equipment = svc.update_equipment(ctx, equipment_id, body.model_dump(exclude_unset=True))
    return _out(equipment, svc.today(ctx))


@api.route(bp, "/equipment/<int:equipment_id>/maintenance-records", methods=["POST"],
           permission="equipment.maintenance.write", body=RecordIn, response=RecordOut,
           status=201, tags=["equipment"])
def add_record(ctx, equipment_id: int, body: RecordIn):  # noqa: ANN001, ANN201
    """A maintenance done; it moves the unit's last and next maintenance dates."""
    return maintenance.add_record(ctx, equipment_id, body.model_dump())


@api.route(bp, "/equipment/<int:equipment_id>/maintenance-records",
           permission="equipment.equipment.read", response=RecordOut, many=True,
           tags=["equipment"])
def list_records(ctx, equipment_id: int):  # noqa: ANN001, ANN201
    """The unit's maintenance records, newest first."""
    from sqlalchemy import select

    from core.extensions import db
    from modules.equipment.models import MaintenanceRecord

    equipment = svc.get_equipment(ctx, equipment_id)
    return list(db.session.scalars(select(MaintenanceRecord).where(
        MaintenanceRecord.equipment_id == equipment.id).order_by(
        MaintenanceRecord.maintenance_date.desc(), MaintenanceRecord.id.desc())))


