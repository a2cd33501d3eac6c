"""What every ticket service shares: finding a ticket through the record rules, the
timeline row of an action, the allowed moves, who may work on a ticket, input checks, and
escalation (used by the actions and by the SLA job)."""

from __future__ import annotations

from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from modules.service.models import STAGE_OF
from modules.service.models import STATUSES
from modules.service.models import TRANSITIONS
from modules.service.models import Ticket
from modules.service.models import TicketActionLog

NOT_FOUND = "工单不存在或无权查看"
TEXT_LIMITS = {"subject": 200, "description": 5000, "root_cause": 5000, "solution": 5000,
               "parts_used": 2000, "address": 300, "contact_name": 100, "contact_phone": 20}
FEE_FIELDS = ("fee_visit", "fee_labour", "fee_parts")


def ticket_select(ctx: ServiceContext) -> Any:
    return ctx.scoped(select(Ticket), Ticket)


def get_ticket(ctx: ServiceContext, ref: Any, *, lock: bool = False) -> Ticket:
    """A ticket the actor may see, by id or by ``AS…`` number; else 404."""
    stmt = ticket_select(ctx)
    text = str(ref).strip().upper() if ref is not None else ""
    if text.startswith("AS"):
        stmt = stmt.where(Ticket.ticket_no == text)
    elif text.isdigit():
        stmt = stmt.where(Ticket.id == int(text))
    else:
        raise NotFoundError(_(NOT_FOUND))
    if lock:
        stmt = stmt.with_for_update()
    ticket = db.session.scalar(stmt)
    if ticket is None:
        raise NotFoundError(_(NOT_FOUND))
    return ticket


def log_action(ctx: ServiceContext, ticket: Ticket, action: str, note: str = "", *,
               from_status: str | None = None, to_status: str | None = None,
               data: dict | None = None) -> TicketActionLog:
    """One timeline row (and the matching audit entry)."""
    row = TicketActionLog(ticket_id=ticket.id, action=action, actor_id=ctx.actor_id,
                          source=ctx.source, from_status=from_status, to_status=to_status,
                          note=note or "", data=data or {}, created_at=ctx.now)
    db.session.add(row)
    changes = {"status": [from_status, to_status]} if to_status and from_status != to_status \
        else {}
    audit.record(ctx, ticket, f"ticket_{action}", note or action, changes)
    return row


def _move(ctx: ServiceContext, ticket: Ticket, to_status: str) -> str:
    """Move to ``to_status`` if allowed from the current status; returns the old status."""
    old = ticket.status
    if to_status not in TRANSITIONS.get(old, set()):
        raise UserError(_("工单%(no)s当前为“%(status)s”，不能改为“%(target)s”",
                          no=ticket.ticket_no, status=_(STATUSES.get(old, old)),
                          target=_(STATUSES.get(to_status, to_status))))
    ticket.status = to_status
    ticket.stage = STAGE_OF[to_status]
    ticket.updated_at = ctx.now
    return old


def _require_worker(ctx: ServiceContext, ticket: Ticket, *, assignee_only: bool = False) -> None:
    """The assignee (or a collaborator), or someone who may assign tickets."""
    if ctx.can("service.ticket.assign"):
        return
    ctx.require("service.ticket.write")
    ok = ctx.actor is None or ticket.assignee_id == ctx.actor_id or (
        not assignee_only and ctx.actor_id in ticket.collaborator_ids)
    if not ok:
        raise PermissionDenied(_("只有工单负责人可以执行此操作（%(no)s）", no=ticket.ticket_no))


def _user(user_id: Any, field: str = "user_id") -> User:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        user = None
    # Someone who does not handle tickets is refused like a missing user (issue 14 #2: the
    # answer tells no one's name or existence).
    if user is None or not user.active or not _can_serve(user):
        message = _("同事不存在、已停用或不处理工单")
        raise ValidationError(message, fields={field: message})
    return user


def _can_serve(user: User) -> bool:
    from core.security.permissions import has_permission

    return has_permission(user, "service.ticket.write")


def _text(data: dict, key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    value = str(value).strip() if value is not None else ""
    if required and not value:
        message = _("必填")
        raise ValidationError(_("请检查：%(problems)s", problems=message), fields={key: message})
    if len(value) > TEXT_LIMITS.get(key, 5000):
        message = _("最多 %(n)s 字", n=TEXT_LIMITS.get(key, 5000))
        raise ValidationError(_("请检查：%(problems)s", problems=message), fields={key: message})
    return value or None


def _money(data: dict, key: str) -> Decimal | None:
    if key not in data or data[key] in (None, ""):
        return None
    try:
        value = Decimal(str(data[key]).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        value = Decimal("-1")
    if not value.is_finite() or value < 0 or value > Decimal("99999999"):
        message = _("金额无效")
        raise ValidationError(message, fields={key: message})
    return value.quantize(Decimal("0.01"))


def escalate(ctx: ServiceContext, ref: Any, note: str = "", *, automatic: bool = False) -> Ticket:
    """催办: the assignee and the managers are reminded (the SLA job calls it once on breach)."""
    from modules.service.services import pushes

    ticket = get_ticket(ctx, ref)
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，无需催办", no=ticket.ticket_no))
    ticket.escalations += 1
    log_action(ctx, ticket, "escalate", (note or "").strip() or (
        _("SLA 超时，自动升级") if automatic else _("催办")),
        data={"automatic": automatic, "count": ticket.escalations})
    pushes.ticket_escalated(ctx, ticket, automatic=automatic)
    return ticket
