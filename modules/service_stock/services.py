"""Parts on tickets: which ticket a chat request is for (an ``AS…`` number or the chat's
last ticket card, checked against the record rules and the ticket's state), and what a
decision on a request does to its ticket (the timeline, the parts used)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.bot import last_record
from core.bot import parse_reference
from core.errors import UserError
from core.extensions import db
from core.services import ServiceContext
from modules.service.models import Ticket
from modules.service.services.tickets import get_ticket
from modules.service.services.tickets import log_action
from modules.stock.models import Part
from modules.stock.models import PartRequest
from modules.stock.models import PartRequestLine
from modules.stock.models import PartsUsage


def request_target(ctx: ServiceContext, text: str, chat_id: str | None) -> dict | None:
    """``{"ticket_id", "equipment_id"}`` for a chat part request, or None (no ticket)."""
    ref = parse_reference(text or "", "AS")
    if ref is not None:
        ticket = get_ticket(ctx, ref.text)
    else:
        record = last_record(chat_id, "service_ticket") if chat_id else None
        if record is None:
            return None
        ticket = get_ticket(ctx, record.record_id)
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能再申请配件", no=ticket.ticket_no))
    return {"ticket_id": ticket.id, "equipment_id": ticket.equipment_id}


def link_demo_request(ctx: ServiceContext) -> None:
    """Demo data: stock's demo names no ticket when the tickets do not exist yet (its
    request must name one its requester may see, issue 14 #2); once they do, the first
    request without one is for its requester's first open ticket."""
    req = db.session.scalar(select(PartRequest).where(PartRequest.ticket_id.is_(None))
                            .order_by(PartRequest.id).limit(1))
    if req is None or req.requester is None:
        return
    from modules.service.models import OPEN_STATUSES

    as_requester = ServiceContext(actor=req.requester, source=ctx.source)
    # An open ticket of his own first (parts are asked for work in progress), else any open
    # one he sees.
    ticket = db.session.scalar(as_requester.scoped(
        select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
        .order_by(case((Ticket.assignee_id == req.requester_id, 0), else_=1), Ticket.id)
        .limit(1),
        Ticket))
    if ticket is not None:
        req.ticket_id, req.equipment_id = ticket.id, ticket.equipment_id
        db.session.flush()


def _lines_text(request: PartRequest, issued: bool) -> str:
    parts = []
    for line in request.lines:
        qty = line.issued_quantity if issued else line.quantity
        if qty:
            parts.append(f"{line.part.part_code} {line.part.part_name}×{qty}")
    return "、".join(parts)


def request_decided(ctx: ServiceContext, request: PartRequest) -> None:
    """A decision on a ticket's part request goes on the ticket's timeline; issued parts
    are added to the ticket's parts used."""
    if not request.ticket_id:
        return
    ticket = db.session.get(Ticket, request.ticket_id)
    if ticket is None:
        return
    status = request.status_label
    issued = request.status == "issued"
    text = _lines_text(request, issued)
    note = f"配件申请 #{request.id} {status}：{text}"
    if request.decision_note:
        note += f"（{request.decision_note}）"
    log_action(ctx, ticket, "parts", note,
               data={"request_id": request.id, "status": request.status})
    if issued and text:
        ticket.parts_used = "；".join(p for p in (ticket.parts_used, text) if p)[:2000]


def requests_of(ticket_id: int) -> list[PartRequest]:
    return list(db.session.scalars(select(PartRequest).where(
        PartRequest.ticket_id == ticket_id).order_by(PartRequest.id).options(
        selectinload(PartRequest.lines).selectinload(PartRequestLine.part))))


def reference_visible(ctx: ServiceContext, field: str, value: int) -> bool | None:
    """Whether the actor sees the ticket / equipment ``value`` (record rules, as his pages
    do); None for a field this bridge does not know."""
    from modules.equipment.models import Equipment

    model = {"ticket_id": Ticket, "equipment_id": Equipment}.get(field)
    if model is None:
        return None
    if not isinstance(value, int) or not 0 < value < 2**31:
        return False
    stmt = ctx.scoped(select(model.id).where(model.id == value), model)
    return db.session.scalar(stmt) is not None


def reference_labels(ctx: ServiceContext, field: str, ids: list[int]) -> dict[int, str]:
    """``{id: label}`` of the tickets / equipment named on part requests, among those the
    actor sees (record rules): a ticket by its number and subject, a unit by its place,
    brand and model."""
    from modules.equipment.models import Equipment

    if field == "ticket_id":
        rows = db.session.execute(ctx.scoped(select(Ticket.id, Ticket.ticket_no, Ticket.subject)
                                             .where(Ticket.id.in_(ids)), Ticket))
        return {i: f"{no} {subject}" for i, no, subject in rows}
    if field == "equipment_id":
        rows = db.session.execute(ctx.scoped(select(
            Equipment.id, Equipment.equipment_no, Equipment.install_location, Equipment.brand,
            Equipment.model).where(Equipment.id.in_(ids)), Equipment))
        return {i: " ".join(p for p in (place, brand, model) if p) or no
                for i, no, place, brand, model in rows}
    return {}


def equipment_models() -> Select:
    """``(id, name)`` of every unit's model, "brand model" (the usage statistics join it)."""
    from modules.equipment.models import Equipment

    name = func.trim(func.coalesce(Equipment.brand, "") + " " + func.coalesce(Equipment.model, ""))
    return select(Equipment.id.label("id"), func.nullif(name, "").label("name"))


def parts_used(tickets: Select) -> list[tuple[Any, str, int]]:
    """``(key, "code name", quantity)`` of the parts issued on the tickets of ``tickets``
    (a SELECT of ``(ticket id, key)`` rows; stock's parts usage), summed per key and part,
    in one statement."""
    chosen = tickets.subquery()
    ticket_id, key = list(chosen.c)[:2]
    stmt = (select(key, Part.part_code, Part.part_name, func.sum(PartsUsage.quantity))
            .select_from(chosen)
            .join(PartsUsage, PartsUsage.ticket_id == ticket_id)
            .join(Part, Part.id == PartsUsage.part_id)
            .group_by(key, Part.part_code, Part.part_name))
    return [(k, f"{code} {name}", int(qty or 0))
            for k, code, name, qty in db.session.execute(stmt)]


def sync_part_request(ctx: ServiceContext, ticket_id: int, payload: dict) -> PartRequest:
    """A part request the engineer queued offline for his ticket (sync batch action
    ``part_request``: ``{"part_code" | "part_id", "quantity", "urgency", "notes"}`` or
    ``{"items": [...], "notes"}``), made through the stock service like any other; a ticket
    finished meanwhile is a conflict."""
    from modules.stock.services.requests import create_request

    ticket = get_ticket(ctx, ticket_id)
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能再申请配件", no=ticket.ticket_no))
    items = payload.get("items")
    if not isinstance(items, list):
        item = {k: payload[k] for k in ("part_id", "part_code", "quantity", "urgency")
                if payload.get(k) not in (None, "")}
        items = [item]
    return create_request(ctx, items, ticket_id=ticket.id, equipment_id=ticket.equipment_id,
                          notes=str(payload.get("notes") or ""))
