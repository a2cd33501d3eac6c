"""Dispatch (seed 003 §1.2, seed 001): the project owner first, else by mode —

* ``grab`` (抢单, default): the ticket is announced to the service group with a 认领 button
  for ``service.grab_minutes``; the first claim wins (a conditional UPDATE); when the
  window passes unclaimed, the rules pick an engineer;
* ``auto``: the rules pick an engineer at once;
* ``manual``: the ticket waits for a manager.

The rules: engineers (a ``service_engineer`` profile, user active, on shift, not on leave,
holding ``service.ticket.write``) with the ticket type among their skills and the address in
one of their areas (empty lists mean any), by load (fewest open tickets) or round robin
(longest since their last assignment). The candidates' profile rows are locked
(``SELECT … FOR UPDATE``, in id order) while one is picked, so dispatches running at once
are serialised and stay fair. A picked engineer gets an *offer*: he accepts or rejects
(with a reason); no answer within ``service.offer_minutes`` → the next candidate. Each hop
is in the ticket's action log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.security.models import User
from core.security.permissions import has_permission
from core.services import ServiceContext
from core.settings import get_setting
from modules.service import links
from modules.service.models import OPEN_STATUSES
from modules.service.models import Engineer
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.service.services.base import log_action

MODES = ("grab", "auto", "manual")


def mode() -> str:
    value = get_setting("service.dispatch_mode") or "grab"
    return value if value in MODES else "grab"


def dispatch_new(ctx: ServiceContext, ticket: Ticket) -> None:
    """A new ticket: the project owner first, else by the dispatch mode."""
    owner_id = links.order_owner_id(ticket.order_id)
    if owner_id and get_setting("service.assign_project_owner", True):
        offer(ctx, ticket, db.session.get(User, owner_id), how="project_owner")
        return
    how = mode()
    if how == "grab":
        minutes = int(get_setting("service.grab_minutes", 15) or 15)
        ticket.grab_until = ctx.now + timedelta(minutes=minutes)
        log_action(ctx, ticket, "grab_open", _("抢单中，%(n)s 分钟内认领", n=minutes),
                   data={"until": ticket.grab_until.isoformat()})
    elif how == "auto":
        next_candidate(ctx, ticket)


def offer(ctx: ServiceContext, ticket: Ticket, user: User, *, how: str, note: str = "") -> None:
    """Offer the ticket to ``user`` (he accepts or rejects); logged and pushed."""
    from modules.service.services import pushes

    ticket.assignee_id = user.id
    ticket.assignee = user
    ticket.offered_at = ctx.now
    ticket.grab_until = None
    profile = db.session.get(Engineer, user.id)
    if profile is not None:
        profile.last_assigned_at = ctx.now
    labels = {"manual": _("经理派单"), "project_owner": _("派给项目负责人"),
              "rules": _("按规则派单")}
    log_action(ctx, ticket, "offer", note or f"{labels.get(how, how)}：{user.name}",
               data={"user_id": user.id, "how": how})
    db.session.flush()
    pushes.ticket_offered(ctx, ticket, user)


def tried_user_ids(ticket_id: int) -> set[int]:
    """Engineers who rejected the ticket or let the offer time out."""
    rows = db.session.scalars(select(TicketActionLog.data).where(
        TicketActionLog.ticket_id == ticket_id,
        TicketActionLog.action.in_(("decline", "offer_timeout"))))
    return {int(d["user_id"]) for d in rows if d and d.get("user_id")}


def candidates(ticket: Ticket, exclude: set[int] = frozenset()) -> list[Engineer]:
    """Eligible engineers, their profile rows locked (id order) for the pick."""
    rows = db.session.scalars(
        select(Engineer).join(User, User.id == Engineer.user_id)
        .where(User.active.is_(True), Engineer.on_shift.is_(True),
               Engineer.on_leave.is_(False))
        .order_by(Engineer.user_id)
        .with_for_update(of=Engineer)
    ).all()
    address = ticket.address or ""
    out = []
    for eng in rows:
        if eng.user_id in exclude:
            continue
        if eng.skills and ticket.ticket_type not in eng.skills:
            continue
        if eng.areas and not any(area and area in address for area in eng.areas):
            continue
        if not has_permission(eng.user, "service.ticket.write"):
            continue
        out.append(eng)
    return out


def open_load(user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Ticket.assignee_id, func.count()).where(
            Ticket.assignee_id.in_(user_ids), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.assignee_id))
    load = dict.fromkeys(user_ids, 0)
    load.update(dict(rows.all()))
    return load


def pick(ticket: Ticket, exclude: set[int] = frozenset()) -> User | None:
    """The engineer the rules choose (by load, or round robin), or None."""
    pool = candidates(ticket, exclude)
    if not pool:
        return None
    strategy = get_setting("service.dispatch_strategy") or "load"
    load = open_load([e.user_id for e in pool])

    def since(e: Engineer) -> float:
        return e.last_assigned_at.timestamp() if e.last_assigned_at else 0.0

    if strategy == "round_robin":
        chosen = min(pool, key=lambda e: (since(e), e.user_id))
    else:
        chosen = min(pool, key=lambda e: (load[e.user_id], since(e), e.user_id))
    return chosen.user


def next_candidate(ctx: ServiceContext, ticket: Ticket) -> User | None:
    """Offer to the next eligible engineer (not one who rejected or timed out), else log
    that nobody is left and tell the managers."""
    from modules.service.services import pushes

    user = pick(ticket, tried_user_ids(ticket.id))
    if user is None:
        ticket.assignee_id = None
        ticket.offered_at = None
        log_action(ctx, ticket, "dispatch_failed", _("没有可派的工程师，等待经理派单"))
        pushes.needs_manager(ctx, ticket)
        return None
    offer(ctx, ticket, user, how="rules")
    return user


def run_timeouts(ctx: ServiceContext) -> dict[str, int]:
    """The job: offers past ``service.offer_minutes`` go to the next candidate; grab
    windows that passed unclaimed are dispatched by the rules."""
    offer_minutes = int(get_setting("service.offer_minutes", 30) or 30)
    stale = db.session.scalars(
        select(Ticket).where(Ticket.status.in_(("pending", "reopened")),
                             Ticket.offered_at.is_not(None),
                             Ticket.offered_at < ctx.now - timedelta(minutes=offer_minutes))
        .order_by(Ticket.id).limit(500)).all()
    for ticket in stale:
        user_id = ticket.assignee_id
        log_action(ctx, ticket, "offer_timeout",
                   _("%(n)s 分钟内未接单，转下一位", n=offer_minutes), data={"user_id": user_id})
        ticket.assignee_id = None
        ticket.offered_at = None
        next_candidate(ctx, ticket)
    expired = db.session.scalars(
        select(Ticket).where(Ticket.status.in_(("pending", "reopened")),
                             Ticket.assignee_id.is_(None),
                             Ticket.grab_until.is_not(None), Ticket.grab_until < ctx.now)
        .order_by(Ticket.id).limit(500)).all()
    for ticket in expired:
        ticket.grab_until = None
        log_action(ctx, ticket, "grab_expired", _("抢单时间已过，按规则派单"))
        next_candidate(ctx, ticket)
    return {"timed_out": len(stale), "grab_expired": len(expired)}


def save_engineer(ctx: ServiceContext, user_id: int, data: dict[str, Any]) -> Engineer:
    """Create or update an engineer's dispatch profile (managers)."""
    ctx.require("service.ticket.assign")
    user = db.session.get(User, int(user_id))
    if user is None:
        from core.errors import NotFoundError

        raise NotFoundError(_("用户不存在"))
    profile = db.session.get(Engineer, user.id) or Engineer(user_id=user.id, user=user)
    profile.skills = [s for s in data.get("skills", profile.skills or []) if s]
    profile.areas = [a.strip() for a in data.get("areas", profile.areas or []) if a.strip()]
    profile.on_shift = bool(data.get("on_shift", True if profile.on_shift is None
                                     else profile.on_shift))
    profile.on_leave = bool(data.get("on_leave", bool(profile.on_leave)))
    db.session.add(profile)
    db.session.flush()
    return profile
