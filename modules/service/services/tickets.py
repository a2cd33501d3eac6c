"""Ticket services: intake, the status machine and every action on a ticket, one call each.

Every action is a single function taking a ``ServiceContext``: the web page, the API, the
chat command, the card button and the jobs call the same one. Each writes a
``service_ticket_action_log`` row (the ticket's timeline, with the channel in ``source``)
and an audit entry, and queues the pushes of :mod:`modules.service.services.pushes`.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from core.concurrency import conditional_update
from core.errors import ConflictError
from core.errors import FieldErrors
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from modules.crm.models.customer import Customer
from modules.service import links
from modules.service.models import COMPLAINT_LEVELS
from modules.service.models import OPEN_STATUSES
from modules.service.models import PRIORITIES
from modules.service.models import TICKET_TYPES
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.service.models import TicketCollaborator
from modules.service.queries import mine_clause
from modules.service.services.base import FEE_FIELDS
from modules.service.services.base import NOT_FOUND
from modules.service.services.base import _money
from modules.service.services.base import _move
from modules.service.services.base import _require_worker
from modules.service.services.base import _text
from modules.service.services.base import _user
from modules.service.services.base import escalate
from modules.service.services.base import get_ticket
from modules.service.services.base import log_action
from modules.service.services.base import ticket_select
from modules.service.sla import to_local

__all__ = ["NOT_FOUND", "escalate", "get_ticket", "log_action", "ticket_select"]


# ------------------------------------------------------------------------------ helpers
def new_ticket_no(now: datetime) -> str:
    """``AS`` + local date-time to the second + three random capitals (seed 001:
    ``AS20240202123456ABC``); uniqueness is enforced by the table and retried on clash."""
    suffix = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
    return "AS" + to_local(now).strftime("%Y%m%d%H%M%S") + suffix


def default_priority(ticket_type: str, complaint_level: str | None = None) -> str:
    """Seed 001: complaint → urgent, repair → high; others normal."""
    if ticket_type == "complaint":
        return "urgent"
    if ticket_type == "repair":
        return "high"
    return "normal"



# ------------------------------------------------------------------------------ intake
def create_ticket(ctx: ServiceContext, data: dict, *, dispatch: bool = True) -> Ticket:
    """A new ticket (web form, API, chat, customer self-intake, equipment maintenance).

    ``data``: ``customer_id``, ``ticket_type``, ``subject``, optional ``description``,
    ``order_id``, ``equipment_id`` or ``equipment_serial``, ``complaint_level``,
    ``assignee_id`` (manual assignment), ``address``, ``contact_*``, ``appointment_at``.
    The customer's project is matched when not given (the most recent in-progress order,
    or the equipment by serial), the priority comes from the rules, and the ticket is
    dispatched (:mod:`modules.service.services.dispatch`)."""
    from modules.service.services import dispatch as dispatching
    from modules.service.services import pushes
    from modules.service.services import sla as sla_service

    ctx.require("service.ticket.create")
    errors = FieldErrors()
    ticket_type = str(data.get("ticket_type") or "").strip()
    if ticket_type not in TICKET_TYPES:
        errors.add("ticket_type", _("请选择服务类型"))
    customer = None
    try:
        customer_id = int(data.get("customer_id") or 0)
    except (TypeError, ValueError):
        customer_id = 0
    if 0 < customer_id < 2**31:  # a customer the actor may see, as on his pages
        customer = db.session.scalar(ctx.scoped(
            select(Customer).where(Customer.id == customer_id), Customer))
    if customer is None:
        errors.add("customer_id", _("客户不存在"))
    subject = str(data.get("subject") or "").strip()
    if not subject:
        errors.add("subject", _("请填写问题主题"))
    elif len(subject) > 200:
        errors.add("subject", _("最多 %(n)s 字", n=200))
    level = data.get("complaint_level") or None
    if level is not None and level not in COMPLAINT_LEVELS:
        errors.add("complaint_level", _("投诉级别无效"))
    if ticket_type == "complaint" and level is None:
        level = "general"
    errors.raise_if_any()
    assert customer is not None
    ticket = Ticket(
        ticket_type=ticket_type, subject=subject,
        description=_text(data, "description") or "",
        complaint_level=level if ticket_type == "complaint" else None,
        priority=default_priority(ticket_type, level),
        channel=data.get("channel") or ctx.source,
        customer_id=customer.id, customer=customer,
        contact_name=_text(data, "contact_name") or customer.customer_name,
        contact_phone=_text(data, "contact_phone") or customer.phone,
        address=_text(data, "address") or customer.address,
        appointment_at=data.get("appointment_at"),
        created_by_id=ctx.actor_id, status="pending", stage="todo", progress=0,
        sla_pauses=[], created_at=ctx.now, updated_at=ctx.now,
    )
    links.match_project(ticket, data)
    ticket.service_date = to_local(ctx.now).date()
    ticket.warranty_status = links.warranty_status(ticket.equipment_id, ticket.service_date)
    _insert_with_number(ctx, ticket)
    log_action(ctx, ticket, "create", _label_note(ticket), to_status="pending",
               data={"channel": ticket.channel, "order_id": ticket.order_id,
                     "equipment_id": ticket.equipment_id})
    sla_service.apply_policy(ctx, ticket)
    assignee_id = data.get("assignee_id")
    if assignee_id:
        ctx.require("service.ticket.assign")
        dispatching.offer(ctx, ticket, _user(assignee_id, "assignee_id"), how="manual")
    elif dispatch:
        dispatching.dispatch_new(ctx, ticket)
    pushes.ticket_created(ctx, ticket)
    return ticket


def _label_note(ticket: Ticket) -> str:
    return f"{TICKET_TYPES[ticket.ticket_type]} · {ticket.subject}"


def _insert_with_number(ctx: ServiceContext, ticket: Ticket) -> None:
    """Insert under a fresh AS number; a clash (two tickets in the same second drawing the
    same suffix) is retried in a savepoint, so concurrent intakes all succeed."""
    for _attempt in range(8):
        ticket.ticket_no = new_ticket_no(ctx.now)
        try:
            with db.session.begin_nested():
                db.session.add(ticket)
                db.session.flush()
            return
        except IntegrityError:
            continue
    raise ConflictError(_("工单编号生成冲突，请重试"))


# ------------------------------------------------------------------------------ actions
def claim_ticket(ctx: ServiceContext, ref: Any) -> Ticket:
    """Take an unassigned pending ticket (``#认领``, the card button, the grab page).
    Race-safe: one conditional UPDATE, so of many claiming at once exactly one wins and the
    others are told who was faster."""
    ctx.require("service.ticket.claim")
    # Unscoped: once claimed, the ticket leaves the others' view, yet they must be told who
    # was faster (its number was announced in the group).
    ticket = get_ticket(ServiceContext.system(ctx.source), ref)
    won = conditional_update(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.assignee_id.is_(None),
               Ticket.status.in_(("pending", "reopened")))
        .values(assignee_id=ctx.actor_id, status="accepted", stage="doing", updated_at=ctx.now,
                offered_at=None, grab_until=None))
    old = ticket.status
    db.session.refresh(ticket)
    if not won:
        if ticket.assignee_id == ctx.actor_id:
            raise ConflictError(_("%(no)s 已经由您负责", no=ticket.ticket_no))
        if ticket.assignee is not None and ticket.is_open:
            raise ConflictError(_("%(no)s 已被%(name)s认领", no=ticket.ticket_no,
                                  name=ticket.assignee.name))
        raise ConflictError(_("%(no)s 当前为“%(status)s”，不能认领", no=ticket.ticket_no,
                              status=_(ticket.status_label)))
    _first_response(ctx, ticket)
    log_action(ctx, ticket, "claim", _("认领工单"), from_status=old, to_status="accepted",
               data={"assignee_id": ctx.actor_id})
    from modules.service.services import pushes

    pushes.ticket_changed(ctx, ticket, "claim")
    return ticket


def _first_response(ctx: ServiceContext, ticket: Ticket) -> None:
    from modules.service.services import sla as sla_service

    if ticket.first_response_at is None:
        ticket.first_response_at = ctx.now
        sla_service.stamp_minutes(ticket)
        if ticket.sla_state == "response_due":
            ticket.sla_state = "resolution_due"


def accept_ticket(ctx: ServiceContext, ref: Any) -> Ticket:
    """The engineer accepts the ticket offered to him (dispatch)."""
    ticket = get_ticket(ctx, ref)
    if ticket.assignee_id != ctx.actor_id or ticket.status not in ("pending", "reopened"):
        raise UserError(_("%(no)s 没有等待您接受的派单", no=ticket.ticket_no))
    old = _move(ctx, ticket, "accepted")
    ticket.offered_at = None
    _first_response(ctx, ticket)
    log_action(ctx, ticket, "accept", _("接受派单"), from_status=old, to_status="accepted")
    from modules.service.services import pushes

    pushes.ticket_changed(ctx, ticket, "accept")
    return ticket


def decline_ticket(ctx: ServiceContext, ref: Any, reason: str) -> Ticket:
    """The engineer rejects the ticket offered to him, with a reason: the next candidate
    gets it (or it waits for a manager)."""
    from modules.service.services import dispatch as dispatching

    ticket = get_ticket(ctx, ref)
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写拒绝原因")
        raise ValidationError(message, fields={"reason": message})
    if ticket.assignee_id != ctx.actor_id or ticket.status not in ("pending", "reopened",
                                                                   "accepted"):
        raise UserError(_("%(no)s 没有等待您接受的派单", no=ticket.ticket_no))
    old = ticket.status
    if old == "accepted":
        _move(ctx, ticket, "pending")
    ticket.assignee_id = None
    ticket.offered_at = None
    log_action(ctx, ticket, "decline", reason, from_status=old, to_status=ticket.status,
               data={"user_id": ctx.actor_id})
    dispatching.next_candidate(ctx, ticket)
    return ticket


def assign_ticket(ctx: ServiceContext, ref: Any, user_id: Any, reason: str = "") -> Ticket:
    """Manual assignment by a manager: an offer the engineer accepts or rejects."""
    from modules.service.services import dispatch as dispatching

    ctx.require("service.ticket.assign")
    ticket = get_ticket(ctx, ref)
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能派单", no=ticket.ticket_no))
    user = _user(user_id)
    if ticket.status == "accepted" or ticket.status == "in_service":
        return transfer_ticket(ctx, ticket.id, user.id, reason or _("经理改派"))
    dispatching.offer(ctx, ticket, user, how="manual", note=reason)
    return ticket


def transfer_ticket(ctx: ServiceContext, ref: Any, user_id: Any, reason: str = "") -> Ticket:
    """``#转派 @李工``: the assignee (or a manager) hands the ticket to a colleague."""
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket, assignee_only=True)
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能转派", no=ticket.ticket_no))
    user = _user(user_id)
    if user.id == ticket.assignee_id:
        raise ConflictError(_("%(no)s 已经由 %(name)s 负责", no=ticket.ticket_no, name=user.name))
    previous = ticket.assignee_id
    old = ticket.status
    ticket.assignee_id = user.id
    ticket.assignee = user
    ticket.offered_at = None
    ticket.grab_until = None
    if old in ("pending", "reopened"):
        _move(ctx, ticket, "accepted")
    ticket.collaborators = [c for c in ticket.collaborators if c.user_id != user.id]
    log_action(ctx, ticket, "transfer", (reason or "").strip() or _("转派给%(name)s",
                                                                     name=user.name),
               from_status=old, to_status=ticket.status,
               data={"from_user_id": previous, "to_user_id": user.id})
    from modules.service.services import pushes

    pushes.ticket_changed(ctx, ticket, "transfer")
    return ticket


def add_collaborator(ctx: ServiceContext, ref: Any, user_id: Any) -> Ticket:
    """``#协作 @张工``."""
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能添加协作人", no=ticket.ticket_no))
    user = _user(user_id)
    if user.id == ticket.assignee_id or user.id in ticket.collaborator_ids:
        raise ConflictError(_("%(name)s 已在处理 %(no)s", name=user.name, no=ticket.ticket_no))
    ticket.collaborators.append(TicketCollaborator(user_id=user.id, user=user, added_at=ctx.now))
    ticket.updated_at = ctx.now
    log_action(ctx, ticket, "collaborator", _("添加协作人 %(name)s", name=user.name),
               data={"user_id": user.id})
    from modules.service.services import pushes

    pushes.ticket_changed(ctx, ticket, "collaborator", extra_users=[user])
    return ticket


def start_service(ctx: ServiceContext, ref: Any, note: str = "") -> Ticket:
    """The engineer starts on site (待服务 → 服务中)."""
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    old = _move(ctx, ticket, "in_service")
    _first_response(ctx, ticket)
    log_action(ctx, ticket, "start", note or _("开始服务"), from_status=old,
               to_status="in_service")
    return ticket


def update_progress(ctx: ServiceContext, ref: Any, percent: Any, note: str = "") -> Ticket:
    """``#进度 50%``: the progress (0–100) and an optional note; starts the service."""
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    try:
        value = int(str(percent).strip().rstrip("%％").strip())
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= 100:
        message = _("进度应为 0 到 100 之间的整数")
        raise ValidationError(message, fields={"percent": message})
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能更新进度", no=ticket.ticket_no))
    if ticket.assignee_id is None:
        raise UserError(_("%(no)s 尚无负责人，请先认领", no=ticket.ticket_no))
    old = ticket.status
    if old in ("accepted", "reopened"):
        _move(ctx, ticket, "in_service")
    _first_response(ctx, ticket)
    previous = ticket.progress
    ticket.progress = value
    ticket.updated_at = ctx.now
    log_action(ctx, ticket, "progress", (note or "").strip(), from_status=old,
               to_status=ticket.status, data={"progress": [previous, value]})
    return ticket


def resolve_ticket(ctx: ServiceContext, ref: Any, data: dict | None = None) -> Ticket:
    """``#已解决``: resolved (待评价), progress 100, SLA met or breached, the survey sent,
    and the ``ticket_resolved`` hook (equipment updates its maintenance record)."""
    from core.hooks import call
    from modules.service.services import pushes
    from modules.service.services import sla as sla_service
    from modules.service.services import surveys

    data = data or {}
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket, assignee_only=True)
    if ticket.assignee_id is None:
        raise UserError(_("%(no)s 尚无负责人，请先认领", no=ticket.ticket_no))
    _apply_details(ticket, data)
    old = _move(ctx, ticket, "resolved")
    ticket.progress = 100
    ticket.resolved_at = ctx.now
    ticket.needs_revisit = bool(data.get("needs_revisit", ticket.needs_revisit))
    _first_response(ctx, ticket)
    sla_service.finish(ctx, ticket)
    sla_service.stamp_minutes(ticket)  # after finish: a pause open until now is closed
    log_action(ctx, ticket, "resolve", (data.get("note") or "").strip() or _("已解决"),
               from_status=old, to_status="resolved",
               data={"root_cause": ticket.root_cause, "solution": ticket.solution})
    surveys.send_survey(ctx, ticket)
    links.record_maintenance(ctx, ticket)
    pushes.ticket_changed(ctx, ticket, "resolve")
    call("ticket_resolved", ticket=ticket, ctx=ctx)
    return ticket


def _apply_details(ticket: Ticket, data: dict) -> None:
    for key in ("root_cause", "solution", "parts_used"):
        if key in data:
            setattr(ticket, key, _text(data, key))
    if data.get("service_hours") not in (None, ""):
        try:
            hours = Decimal(str(data["service_hours"]))
        except InvalidOperation:
            hours = Decimal("-1")
        if not hours.is_finite() or hours < 0 or hours > 1000:
            message = _("服务时长无效")
            raise ValidationError(message, fields={"service_hours": message})
        ticket.service_hours = hours.quantize(Decimal("0.01"))
    for key in FEE_FIELDS:
        value = _money(data, key)
        if value is not None:
            setattr(ticket, key, value)


def update_ticket(ctx: ServiceContext, ref: Any, data: dict) -> Ticket:
    """Edit the ticket's details (PATCH, the detail form): texts, service record, fees."""
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    changed = {}
    for key in ("subject", "description", "address", "contact_name", "contact_phone"):
        if key in data:
            value = _text(data, key, required=key == "subject")
            if getattr(ticket, key) != value:
                changed[key] = value
                setattr(ticket, key, value if value is not None or key != "description" else "")
    if "appointment_at" in data:
        ticket.appointment_at = data["appointment_at"]
        changed["appointment_at"] = str(data["appointment_at"])
    before = {k: getattr(ticket, k) for k in ("root_cause", "solution", "parts_used",
                                              "service_hours", *FEE_FIELDS)}
    _apply_details(ticket, data)
    changed.update({k: str(getattr(ticket, k)) for k, v in before.items()
                    if getattr(ticket, k) != v})
    if "priority" in data and data["priority"] != ticket.priority:
        set_priority(ctx, ticket.id, data["priority"], data.get("priority_reason") or "")
    if changed:
        ticket.updated_at = ctx.now
        log_action(ctx, ticket, "update", _("更新工单信息"), data={"fields": sorted(changed)})
    return ticket


def set_priority(ctx: ServiceContext, ref: Any, priority: str, reason: str) -> Ticket:
    """A manager overrides the rule's priority; the reason is required and kept."""
    from modules.service.services import sla as sla_service

    ctx.require("service.ticket.assign")
    ticket = get_ticket(ctx, ref)
    if priority not in PRIORITIES:
        message = _("优先级无效")
        raise ValidationError(message, fields={"priority": message})
    reason = (reason or "").strip()
    if not reason:
        message = _("调整优先级需要填写原因")
        raise ValidationError(message, fields={"priority_reason": message})
    old = ticket.priority
    ticket.priority = priority
    ticket.priority_reason = reason[:500]
    log_action(ctx, ticket, "priority", reason, data={"priority": [old, priority]})
    if ticket.is_open:
        sla_service.apply_policy(ctx, ticket, keep_start=True)
    return ticket


def mark_revisit(ctx: ServiceContext, ref: Any, note: str = "") -> Ticket:
    """``#需要回访``: the ticket needs a follow-up call to the customer."""
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    ticket.needs_revisit = True
    ticket.updated_at = ctx.now
    log_action(ctx, ticket, "revisit", (note or "").strip() or _("需要回访"))
    return ticket


def complete_revisit(ctx: ServiceContext, ref: Any, note: str) -> Ticket:
    ticket = get_ticket(ctx, ref)
    _require_worker(ctx, ticket)
    if not ticket.needs_revisit:
        raise UserError(_("%(no)s 没有待回访任务", no=ticket.ticket_no))
    ticket.needs_revisit = False
    log_action(ctx, ticket, "revisit_done", (note or "").strip() or _("已回访"))
    return ticket


def reject_ticket(ctx: ServiceContext, ref: Any, reason: str) -> Ticket:
    """A manager rejects a request that is not a service matter (with a reason)."""
    ctx.require("service.ticket.assign")
    ticket = get_ticket(ctx, ref)
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写驳回原因")
        raise ValidationError(message, fields={"reason": message})
    old = _move(ctx, ticket, "rejected")
    ticket.closed_at = ctx.now
    _stop_sla(ticket)
    log_action(ctx, ticket, "reject", reason, from_status=old, to_status="rejected")
    return ticket


def cancel_ticket(ctx: ServiceContext, ref: Any, reason: str) -> Ticket:
    ctx.require("service.ticket.assign")
    ticket = get_ticket(ctx, ref)
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写取消原因")
        raise ValidationError(message, fields={"reason": message})
    old = _move(ctx, ticket, "cancelled")
    ticket.closed_at = ctx.now
    _stop_sla(ticket)
    log_action(ctx, ticket, "cancel", reason, from_status=old, to_status="cancelled")
    return ticket


def _stop_sla(ticket: Ticket) -> None:
    if ticket.sla_state not in ("none", "breached", "met"):
        ticket.sla_state = "none"
    ticket.sla_paused_at = None


def close_ticket(ctx: ServiceContext, ref: Any, note: str = "") -> Ticket:
    """待评价 → 已完成 (after the survey, or by a manager)."""
    ticket = get_ticket(ctx, ref)
    if not ctx.can("service.ticket.assign"):
        _require_worker(ctx, ticket, assignee_only=True)
    old = _move(ctx, ticket, "closed")
    ticket.closed_at = ctx.now
    log_action(ctx, ticket, "close", (note or "").strip() or _("工单关闭"), from_status=old,
               to_status="closed")
    return ticket


def reopen_ticket(ctx: ServiceContext, ref: Any, reason: str) -> Ticket:
    """A resolved or closed ticket comes back (the customer is not satisfied): the same
    assignee, a fresh resolution deadline."""
    from modules.service.services import pushes
    from modules.service.services import sla as sla_service

    ticket = get_ticket(ctx, ref)
    if ctx.actor is not None and not ctx.can("service.ticket.assign"):
        _require_worker(ctx, ticket)
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写重开原因")
        raise ValidationError(message, fields={"reason": message})
    old = _move(ctx, ticket, "reopened")
    ticket.resolved_at = None
    ticket.closed_at = None
    ticket.progress = min(ticket.progress, 90)
    sla_service.apply_policy(ctx, ticket, keep_start=False)
    sla_service.stamp_minutes(ticket)
    log_action(ctx, ticket, "reopen", reason, from_status=old, to_status="reopened")
    pushes.ticket_changed(ctx, ticket, "reopen")
    return ticket


# ------------------------------------------------------------------------------ reads
def my_tickets(ctx: ServiceContext, limit: int = 20) -> list[Any]:
    """Open tickets the actor is assigned to or collaborates on, most urgent first: plain
    rows of what a list of them shows (``#我的工单`` answers without loading ORM tickets)."""
    stmt = (ctx.scoped(select(*MY_TICKET_COLUMNS), Ticket)
            .where(Ticket.status.in_(OPEN_STATUSES), mine_clause(ctx.actor_id))
            # The order of the partial index of open tickets by deadline (NULLS LAST).
            .order_by(Ticket.resolution_due_at.asc().nulls_last(), Ticket.id.desc())
            .limit(limit))
    return list(db.session.execute(stmt))


MY_TICKET_COLUMNS = (Ticket.id, Ticket.ticket_no, Ticket.subject, Ticket.status, Ticket.priority,
                     Ticket.progress, Ticket.resolution_due_at)


def action_log(ticket_id: int) -> list[TicketActionLog]:
    return list(db.session.scalars(select(TicketActionLog)
                                   .where(TicketActionLog.ticket_id == ticket_id)
                                   .order_by(TicketActionLog.id)))


def create_maintenance_ticket(ctx: ServiceContext, equipment: Any, due_date: Any) -> Ticket:
    """A maintenance ticket for ``equipment`` due on ``due_date`` (equipment's
    ``maintenance_order_requested``); one open maintenance ticket per unit at a time."""
    existing = db.session.scalar(select(Ticket).where(
        Ticket.equipment_id == equipment.id, Ticket.ticket_type == "maintenance",
        Ticket.status.in_(OPEN_STATUSES)).limit(1))
    if existing is not None:
        return existing
    name = " ".join(p for p in (equipment.install_location, equipment.brand, equipment.model)
                    if p) or equipment.equipment_no
    return create_ticket(ctx, {
        "customer_id": equipment.customer_id, "ticket_type": "maintenance",
        "equipment_id": equipment.id, "channel": "equipment",
        "subject": f"定期保养：{name}"[:200],
        "description": f"设备 {equipment.equipment_no} 计划保养日期 {due_date}"})
