"""SLA on tickets: the matching policy's response and resolution deadlines in working time
(:mod:`modules.service.sla`), pauses while waiting for the customer or parts, and the
refresh job that marks breaches and escalates each breached ticket once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update

from core import audit
from core.concurrency import conditional_update
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from modules.service.models import COMPLAINT_LEVELS
from modules.service.models import OPEN_STATUSES
from modules.service.models import PRIORITIES
from modules.service.models import TICKET_TYPES
from modules.service.models import SlaPolicy
from modules.service.models import Ticket
from modules.service.sla import WorkCalendar
from modules.service.sla import aware_utc
from modules.service.sla import chinese_workday
from modules.service.sla import deadline_utc
from modules.service.sla import parse_intervals
from modules.service.sla import stored_pauses
from modules.service.sla import ticket_minutes

RUNNING = ("response_due", "resolution_due")
# Breaches are marked in one UPDATE however many; their escalations (pushes to people) go
# out at most this many a run (every minute), so a mass breach drains over a few runs.
ESCALATE_PER_RUN = 50


def calendar() -> WorkCalendar:
    return WorkCalendar(parse_intervals(get_setting("service.working_hours")), chinese_workday)


def policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The first active policy (by sequence) whose conditions the ticket meets."""
    level = ticket.customer.customer_level if ticket.customer is not None else None
    for policy in db.session.scalars(select(SlaPolicy).where(SlaPolicy.active.is_(True))
                                     .order_by(SlaPolicy.sequence, SlaPolicy.id)):
        if policy.ticket_type and policy.ticket_type != ticket.ticket_type:
            continue
        if policy.priority and policy.priority != ticket.priority:
            continue
        if policy.complaint_level and policy.complaint_level != ticket.complaint_level:
            continue
        if policy.customer_level and policy.customer_level != level:
            continue
        return policy
    return None


def pauses(ticket: Ticket, now: datetime | None = None) -> list[tuple[datetime, datetime]]:
    return stored_pauses(ticket.sla_pauses, now)


def apply_policy(ctx: ServiceContext, ticket: Ticket, *, keep_start: bool = True) -> None:
    """(Re)compute the deadlines from the matching policy ("no SLA" when none matches).
    ``keep_start=False`` (reopen) counts the resolution target from now."""
    policy = policy_for(ticket)
    ticket.sla_policy_id = policy.id if policy else None
    if policy is None:
        ticket.sla_state = "none"
        ticket.response_due_at = ticket.resolution_due_at = None
        return
    cal = calendar()
    start = aware_utc(ticket.created_at if keep_start else ctx.now)
    if not keep_start:
        ticket.sla_pauses = []
        ticket.sla_breached_at = None
        ticket.sla_escalated = False
    paused = pauses(ticket)
    ticket.response_due_at = deadline_utc(cal, aware_utc(ticket.created_at),
                                          policy.response_minutes, paused)
    ticket.resolution_due_at = deadline_utc(cal, start, policy.resolution_minutes, paused)
    if ticket.sla_paused_at is not None:
        ticket.sla_state = "paused"
    elif ticket.status in ("resolved", "closed"):
        ticket.sla_state = "met" if ticket.resolved_at and ticket.resolution_due_at and \
            aware_utc(ticket.resolved_at) <= ticket.resolution_due_at else "breached"
    else:
        ticket.sla_state = "response_due" if ticket.first_response_at is None \
            else "resolution_due"
        due = ticket.response_due_at if ticket.sla_state == "response_due" \
            else ticket.resolution_due_at
        if due is not None and aware_utc(ctx.now) > due:
            ticket.sla_state = "breached"
            ticket.sla_breached_at = ticket.sla_breached_at or ctx.now


def pause(ctx: ServiceContext, ticket_ref: Any, reason: str) -> Ticket:
    """Stop the SLA clock (waiting for the customer or for parts)."""
    from modules.service.services.base import _require_worker
    from modules.service.services.base import get_ticket
    from modules.service.services.base import log_action

    ticket = get_ticket(ctx, ticket_ref)
    _require_worker(ctx, ticket)
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写暂停原因（如等待客户、等待配件）")
        raise ValidationError(message, fields={"reason": message})
    if ticket.sla_state not in RUNNING or not ticket.is_open:
        raise UserError(_("%(no)s 的 SLA 未在计时，无法暂停", no=ticket.ticket_no))
    ticket.sla_paused_at = ctx.now
    ticket.sla_pauses = [*(ticket.sla_pauses or []), [ctx.now.isoformat(), None]]
    ticket.sla_state = "paused"
    log_action(ctx, ticket, "sla_pause", reason)
    return ticket


def resume(ctx: ServiceContext, ticket_ref: Any) -> Ticket:
    """Restart the clock: the deadlines move by the working time spent paused."""
    from modules.service.services.base import _require_worker
    from modules.service.services.base import get_ticket
    from modules.service.services.base import log_action

    ticket = get_ticket(ctx, ticket_ref)
    _require_worker(ctx, ticket)
    if ticket.sla_paused_at is None:
        raise UserError(_("%(no)s 的 SLA 没有暂停", no=ticket.ticket_no))
    items = list(ticket.sla_pauses or [])
    if items and items[-1][1] is None:
        items[-1] = [items[-1][0], ctx.now.isoformat()]
    ticket.sla_pauses = items
    ticket.sla_paused_at = None
    apply_policy(ctx, ticket)
    log_action(ctx, ticket, "sla_resume", _("恢复 SLA 计时"))
    return ticket


def finish(ctx: ServiceContext, ticket: Ticket) -> None:
    """Resolved: met when within the resolution deadline (a breach stays a breach)."""
    if ticket.sla_paused_at is not None:
        items = list(ticket.sla_pauses or [])
        if items and items[-1][1] is None:
            items[-1] = [items[-1][0], ctx.now.isoformat()]
        ticket.sla_pauses = items
        ticket.sla_paused_at = None
        apply_policy(ctx, ticket)
    if ticket.sla_state in ("none", "breached"):
        return
    due = ticket.resolution_due_at
    ticket.sla_state = "met" if due is None or aware_utc(ctx.now) <= aware_utc(due) else "breached"


def stamp_minutes(ticket: Ticket, cal: WorkCalendar | None = None) -> None:
    """Keep the ticket's first response and resolution in working minutes
    (:func:`modules.service.sla.ticket_minutes`) with its times: called when it is first
    answered, resolved or reopened (no resolution then)."""
    ticket.response_minutes, ticket.resolution_minutes = ticket_minutes(
        cal or calendar(), ticket.created_at, ticket.first_response_at, ticket.resolved_at,
        ticket.sla_pauses)


def refresh(ctx: ServiceContext) -> dict[str, int]:
    """The job (every minute): running SLAs past their deadline → breached (one UPDATE),
    then each newly breached ticket is escalated once."""
    from modules.service.services.base import escalate

    now = ctx.now
    response_late = (Ticket.sla_state == "response_due") & (Ticket.response_due_at < now)
    resolution_late = (Ticket.sla_state == "resolution_due") & (Ticket.resolution_due_at < now)
    marked = 0
    for late in (response_late, resolution_late):
        marked += conditional_update(
            update(Ticket).where(late, Ticket.status.in_(OPEN_STATUSES))
            .values(sla_state="breached", sla_breached_at=now)) or 0
    ids = list(db.session.scalars(select(Ticket.id).where(
        Ticket.sla_state == "breached", Ticket.sla_escalated.is_(False),
        Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id).limit(ESCALATE_PER_RUN)))
    # One UPDATE marks the batch; only the tickets it marked (not a parallel run's) are
    # escalated, loaded fresh in one SELECT.
    claimed = list(db.session.scalars(
        update(Ticket).where(Ticket.id.in_(ids), Ticket.sla_escalated.is_(False))
        .values(sla_escalated=True).returning(Ticket.id)
        .execution_options(synchronize_session=False))) if ids else []
    if claimed:
        list(db.session.scalars(select(Ticket).where(Ticket.id.in_(claimed))
                                .execution_options(populate_existing=True)))
    for ticket_id in sorted(claimed):
        escalate(ctx, ticket_id, automatic=True)
    return {"breached": marked, "escalated": len(claimed)}


def save_policy(ctx: ServiceContext, data: dict, policy_id: int | None = None) -> SlaPolicy:
    """Create or edit a policy; open tickets are recomputed, with an audit entry."""
    ctx.require("service.policy.manage")
    errors = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = _("请填写名称")
    minutes = {}
    for key in ("response_minutes", "resolution_minutes"):
        try:
            minutes[key] = int(data.get(key))
            if minutes[key] <= 0 or minutes[key] > 60 * 24 * 365:
                raise ValueError
        except (TypeError, ValueError):
            errors[key] = _("请填写正整数（分钟）")
    for key, allowed in (("ticket_type", TICKET_TYPES), ("priority", PRIORITIES),
                         ("complaint_level", COMPLAINT_LEVELS)):
        if data.get(key) and data[key] not in allowed:
            errors[key] = _("取值无效")
    if errors:
        raise ValidationError.of_fields(errors)
    policy = db.session.get(SlaPolicy, policy_id) if policy_id else SlaPolicy()
    if policy is None:
        from core.errors import NotFoundError

        raise NotFoundError(_("SLA 策略不存在"))
    policy.name = name
    for key in ("ticket_type", "priority", "complaint_level", "customer_level"):
        setattr(policy, key, data.get(key) or None)
    policy.response_minutes = minutes["response_minutes"]
    policy.resolution_minutes = minutes["resolution_minutes"]
    policy.active = bool(data.get("active", True))
    policy.sequence = int(data.get("sequence") or 100)
    db.session.add(policy)
    db.session.flush()
    count = recompute_open(ctx)
    audit.record(ctx, policy, "sla_recompute", f"SLA 策略变更，重算 {count} 张未结工单")
    return policy


def recompute_open(ctx: ServiceContext) -> int:
    count = 0
    for ticket in db.session.scalars(select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))):
        apply_policy(ctx, ticket)
        count += 1
    return count
