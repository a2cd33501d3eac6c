"""Reads of equipment, always scoped by the record rules; the warranty status is computed
here when read (never stored)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from core.errors import NotFoundError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from modules.equipment import plans
from modules.equipment.models import NUMBER_PREFIX
from modules.equipment.models import Equipment
from modules.sales.services.numbering import local_date

NOT_FOUND = _l("设备不存在或无权查看")


def today(ctx: ServiceContext) -> date:
    return local_date(ctx.now)


def holiday_policy() -> str:
    value = get_setting("equipment.holiday_policy") or "next"
    return value if value in plans.HOLIDAY_POLICIES else "next"


EXPIRING_TTL = 60.0


def expiring_days() -> int:
    """The "expiring" threshold, kept per process for a minute: an unset setting costs a
    statement, which was a third of the equipment list's statements (a change shows
    within a minute)."""
    from core.cache import app_kept

    return app_kept("equipment.expiring_days", lambda: int(
        get_setting("equipment.warranty_expiring_days") or plans.EXPIRING_DAYS), EXPIRING_TTL)


def warranty_status(equipment: Equipment, on: date, days: int | None = None) -> str | None:
    """In / expiring / out on ``on``, computed when read (never stored)."""
    return plans.warranty_status(equipment.warranty_end_date, on,
                                 expiring_days() if days is None else days)


def warranty_where(status: str, on: date) -> Any:
    """The SQL condition of a warranty status on ``on`` (for list filters)."""
    soon = on + timedelta(days=expiring_days())
    end = Equipment.warranty_end_date
    if status == "out":
        return end < on
    if status == "expiring":
        return and_(end >= on, end <= soon)
    if status == "in":
        return end > soon
    raise ValidationError(_("保修状态无效"), fields={"warranty": _("保修状态无效")})


# --- reading ---------------------------------------------------------------------------


def equipment_select(ctx: ServiceContext) -> Select:
    ctx.require("equipment.equipment.read")
    return ctx.scoped(select(Equipment), Equipment)


def values_in_use(ctx: ServiceContext, column: Any, limit: int = 200) -> list[str]:
    """The distinct values of ``column`` (a type, a brand) over the units ``ctx`` may see:
    a filter's choices never name what the reader's record rules hide."""
    stmt = (equipment_select(ctx).with_only_columns(column).where(column.is_not(None))
            .distinct().order_by(None).order_by(column).limit(limit))
    return list(db.session.scalars(stmt))


def parse_ref(ref: str | int) -> tuple[str, Any] | None:
    text = str(ref).strip().upper()
    if text.startswith(NUMBER_PREFIX) and text[2:].isdigit():
        return "no", text
    if text.isdigit() and 0 < int(text) < 2**31:
        return "id", int(text)
    return None


def get_equipment(ctx: ServiceContext, ref: str | int, *, for_update: bool = False,
                  options: tuple[Any, ...] = ()) -> Equipment:
    parsed = parse_ref(ref)
    if parsed is None:
        raise NotFoundError(str(NOT_FOUND))
    kind, value = parsed
    stmt = equipment_select(ctx).where(
        Equipment.equipment_no == value if kind == "no" else Equipment.id == value)
    if for_update:
        stmt = stmt.with_for_update(of=Equipment).execution_options(populate_existing=True)
    if options:
        stmt = stmt.options(*options)
    equipment = db.session.scalar(stmt)
    if equipment is None:
        raise NotFoundError(str(NOT_FOUND))
    return equipment


def search_equipment(ctx: ServiceContext, *, customer_id: int | None = None,
                     equipment_type: str | None = None, brand: str | None = None,
                     warranty: str | None = None, due_before: date | None = None,
                     q: str | None = None) -> Select:
    """The visible equipment filtered as the list and the API filter it."""
    stmt = equipment_select(ctx)
    on = today(ctx)
    if customer_id:
        stmt = stmt.where(Equipment.customer_id == customer_id)
    if equipment_type:
        stmt = stmt.where(Equipment.equipment_type == equipment_type)
    if brand:
        stmt = stmt.where(Equipment.brand == brand)
    if warranty:
        stmt = stmt.where(warranty_where(warranty, on))
    if due_before:
        stmt = stmt.where(Equipment.status == "in_use",
                          Equipment.next_maintenance_date <= due_before)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Equipment.equipment_no.ilike(like),
                              Equipment.serial_number.ilike(like),
                              Equipment.model.ilike(like)))
    return stmt
