"""Faults reported by customers on a unit's public page (the QR label): a service ticket
when a module answers ``equipment_fault_reported``, else a repair record to fill in; the
unit's engineer is told either way. The public page shows no customer data."""

from __future__ import annotations

from flask_babel import gettext as _

from core import audit
from core.errors import ValidationError
from core.extensions import db
from core.hooks import call
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord

MAX_DESCRIPTION = 2000


def report_fault(ctx: ServiceContext, equipment_id: int, description: str,
                 contact_phone: str | None = None,
                 photos: list[bytes] | None = None) -> tuple[str, str]:
    """Returns (kind, reference): ``("ticket", "AS…")`` or ``("record", "12")``."""
    from modules.equipment.push import fault_reported

    description = (description or "").strip()
    if not description:
        raise ValidationError(_("请描述故障现象"), fields={"description": _("请描述故障现象")})
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError(_("描述过长"), fields={"description": _("最多 2000 字")})
    phone = "".join(ch for ch in (contact_phone or "") if ch.isdigit() or ch == "+")[:20] or None
    equipment = db.session.get(Equipment, equipment_id)
    if equipment is None or equipment.status == "retired":
        raise ValidationError(_("设备不存在或已报废"))
    ticket = call("equipment_fault_reported", equipment=equipment, description=description,
                  contact_phone=phone, ctx=ctx, photos=list(photos or []))
    if ticket is not None:
        kind, ref = "ticket", str(getattr(ticket, "ticket_no", None) or ticket.id)
    else:
        record = MaintenanceRecord(
            equipment_id=equipment.id, maintenance_type="repair", status="planned",
            engineer_id=equipment.engineer_id, created_at=ctx.now,
            work_description=_("客户报修：%(text)s", text=description)
            + (f"（{phone}）" if phone else ""))
        db.session.add(record)
        db.session.flush()
        kind, ref = "record", str(record.id)
    audit.record(ctx, equipment, "fault_reported", description[:500], {})
    fault_reported(ctx, equipment, description, kind, ref)
    return kind, ref


