"""On site (seed 004 师傅端): check-in and check-out with the location (the distance from
the service address is kept and flagged beyond ``service.checkin_radius_m``), and the
service report the customer signs on the device: a PDF freezing parts, hours, fees and the
signature; signing again after edits makes a new version."""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from modules.service.models import ServiceReport
from modules.service.models import Ticket
from modules.service.models import Visit
from modules.service.services.tickets import _require_worker
from modules.service.services.tickets import get_ticket
from modules.service.services.tickets import log_action
from modules.service.sla import to_local

MAX_SIGNATURE_BYTES = 300_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * r * math.asin(math.sqrt(a)))


def _coord(value: Any, field: str, low: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal(999)
    if not number.is_finite() or abs(number) > low:
        message = _("位置坐标无效")
        raise ValidationError(message, fields={field: message})
    return number.quantize(Decimal("0.000001"))


def _where(ticket: Ticket, lat: Any, lng: Any) -> tuple[Decimal | None, Decimal | None,
                                                          int | None, bool]:
    la, ln = _coord(lat, "lat", 90), _coord(lng, "lng", 180)
    if (la is None) != (ln is None):
        message = _("位置坐标不完整")
        raise ValidationError(message, fields={"lat": message})
    if la is None or ticket.site_lat is None or ticket.site_lng is None:
        return la, ln, None, False
    meters = distance_m(float(la), float(ln), float(ticket.site_lat), float(ticket.site_lng))
    radius = int(get_setting("service.checkin_radius_m", 500) or 500)
    return la, ln, meters, meters > radius


def _open_visit(ticket_id: int, user_id: int | None) -> Visit | None:
    return db.session.scalar(select(Visit).where(
        Visit.ticket_id == ticket_id, Visit.user_id == user_id, Visit.check_out_at.is_(None))
        .order_by(Visit.id.desc()).limit(1))


def check_in(ctx: ServiceContext, ref: Any, lat: Any = None, lng: Any = None,
             at: datetime | None = None) -> Visit:
    """Arrive on site: a visit starts (the service starts too, if it had not)."""
    from modules.service.services import tickets

    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能签到", no=ticket.ticket_no))
    if _open_visit(ticket.id, ctx.actor_id) is not None:
        raise UserError(_("您已在 %(no)s 签到，请先签退", no=ticket.ticket_no))
    la, ln, meters, flagged = _where(ticket, lat, lng)
    visit = Visit(ticket_id=ticket.id, user_id=ctx.actor_id, check_in_at=at or ctx.now,
                  check_in_lat=la, check_in_lng=ln, check_in_distance_m=meters, flagged=flagged)
    db.session.add(visit)
    if ticket.status in ("accepted", "reopened"):
        tickets.start_service(ctx, ticket.id, _("签到开始服务"))
    note = _("到场签到") + (f"（{meters} 米）" if meters is not None else "")
    log_action(ctx, ticket, "check_in", note, data={"distance_m": meters, "flagged": flagged})
    db.session.flush()
    return visit


def check_out(ctx: ServiceContext, ref: Any, lat: Any = None, lng: Any = None,
              at: datetime | None = None) -> Visit:
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    visit = _open_visit(ticket.id, ctx.actor_id)
    if visit is None:
        raise UserError(_("您尚未在 %(no)s 签到", no=ticket.ticket_no))
    la, ln, meters, flagged = _where(ticket, lat, lng)
    visit.check_out_at = at or ctx.now
    visit.check_out_lat, visit.check_out_lng, visit.check_out_distance_m = la, ln, meters
    visit.flagged = visit.flagged or flagged
    hours = sum_hours(ticket.id)
    if hours:
        ticket.service_hours = hours
    log_action(ctx, ticket, "check_out", _("离场签退，本次 %(m)s 分钟", m=visit.minutes),
               data={"distance_m": meters, "flagged": flagged})
    db.session.flush()
    return visit


def sum_hours(ticket_id: int) -> Decimal | None:
    visits = db.session.scalars(select(Visit).where(Visit.ticket_id == ticket_id,
                                                    Visit.check_out_at.is_not(None)))
    minutes = sum(v.minutes or 0 for v in visits)
    return (Decimal(minutes) / 60).quantize(Decimal("0.01")) if minutes else None


def visits(ticket_id: int) -> list[Visit]:
    return list(db.session.scalars(select(Visit).where(Visit.ticket_id == ticket_id)
                                   .order_by(Visit.id)))


def _signature(data_url: str) -> bytes:
    raw = (data_url or "").split(",", 1)[-1]
    try:
        png = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        png = b""
    if not png.startswith(PNG_MAGIC) or len(png) > MAX_SIGNATURE_BYTES or len(png) < 100:
        message = _("请让客户在签名框内签字")
        raise ValidationError(message, fields={"signature": message})
    return png


def snapshot(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_no": ticket.ticket_no, "subject": ticket.subject,
        "customer": ticket.customer.customer_name, "address": ticket.address or "",
        "engineer": ticket.assignee.name if ticket.assignee else "",
        "root_cause": ticket.root_cause or "", "solution": ticket.solution or "",
        "parts_used": ticket.parts_used or "",
        "service_hours": f"{Decimal(ticket.service_hours or 0):.2f}",
        "fee_visit": f"{Decimal(ticket.fee_visit or 0):.2f}",
        "fee_labour": f"{Decimal(ticket.fee_labour or 0):.2f}",
        "fee_parts": f"{Decimal(ticket.fee_parts or 0):.2f}",
        "total": f"{Decimal(ticket.total_fee):.2f}",
        "warranty": ticket.warranty_label,
    }


def sign_report(ctx: ServiceContext, ref: Any, signer_name: str,
                signature_data_url: str) -> ServiceReport:
    """The customer signs the report on the device: a new version with its PDF."""
    from modules.service.services.pdf import report_pdf

    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    name = (signer_name or "").strip()
    if not name or len(name) > 100:
        message = _("请填写签字人姓名")
        raise ValidationError(message, fields={"signer_name": message})
    if ticket.status not in ("in_service", "resolved", "accepted", "reopened"):
        raise UserError(_("%(no)s 当前不能签字确认", no=ticket.ticket_no))
    png = _signature(signature_data_url)
    version = (db.session.scalar(select(func.max(ServiceReport.version)).where(
        ServiceReport.ticket_id == ticket.id)) or 0) + 1
    frozen = snapshot(ticket)
    signed_at = to_local(ctx.now).strftime("%Y-%m-%d %H:%M")
    pdf = report_pdf(frozen, png, name, signed_at, version)
    report = ServiceReport(ticket_id=ticket.id, version=version, signer_name=name,
                           signature_png=png, pdf=pdf, snapshot=frozen,
                           created_by_id=ctx.actor_id, created_at=ctx.now)
    db.session.add(report)
    log_action(ctx, ticket, "report", _("客户 %(name)s 签字确认（第 %(v)s 版）", name=name,
                                        v=version), data={"version": version})
    db.session.flush()
    return report


def latest_report(ticket_id: int) -> ServiceReport | None:
    return db.session.scalar(select(ServiceReport).where(ServiceReport.ticket_id == ticket_id)
                             .order_by(ServiceReport.version.desc()).limit(1))
