"""Reads of the service module, scoped by record rules where a user reads them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select

from core.db import in_select
from core.extensions import db
from core.paging import capped_count
from core.services import ServiceContext
from modules.service.models import OPEN_STATUSES
from modules.service.models import Ticket
from modules.service.models import TicketCollaborator

# The home cards count up to this many tickets ("10,000+" beyond), as the lists do: an
# engineer sees about 50,000 tickets at 1,000,000, and an exact count reads every one.
CARD_COUNT_CAP = 10_000


def open_tickets_of(customer_ids: list[int]) -> list[Ticket]:
    """Open tickets of these customers (the handover checklist: every one counts)."""
    if not customer_ids:
        return []
    return list(db.session.scalars(select(Ticket).where(
        Ticket.customer_id.in_(customer_ids), Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id)))


def collaborating(user_id: int | None) -> Any:
    """Tickets ``user_id`` helps on (an index lookup on PostgreSQL, also inside an OR)."""
    return in_select(Ticket.id, select(TicketCollaborator.ticket_id)
                     .where(TicketCollaborator.user_id == user_id))


def mine_clause(user_id: int | None) -> Any:
    """Tickets assigned to ``user_id`` or that he helps on."""
    return or_(Ticket.assignee_id == user_id, collaborating(user_id))


def my_open(ctx: ServiceContext, limit: int = 5) -> tuple[list[Ticket], int]:
    """The actor's open tickets (assigned or helping), nearest deadline first, and their
    count up to ``CARD_COUNT_CAP + 1`` (as the other cards' counts)."""
    base = ctx.scoped(select(Ticket), Ticket).where(
        mine_clause(ctx.actor_id), Ticket.status.in_(OPEN_STATUSES))
    total = capped_count(base, Ticket.id, CARD_COUNT_CAP)
    rows = db.session.scalars(base.order_by(Ticket.resolution_due_at.asc().nulls_last(),
                                            Ticket.id).limit(limit))
    return list(rows), total


def breaching_soon(ctx: ServiceContext, hours: int = 4, limit: int = 5) -> tuple[list[Ticket], int]:
    """Running SLAs due within ``hours`` (and those already breached), nearest first."""
    soon = ctx.now + timedelta(hours=hours)
    base = ctx.scoped(select(Ticket), Ticket).where(
        Ticket.status.in_(OPEN_STATUSES),
        or_(Ticket.sla_state == "breached",
            (Ticket.sla_state.in_(("response_due", "resolution_due")))
            & (Ticket.resolution_due_at <= soon)))
    total = capped_count(base, Ticket.id, CARD_COUNT_CAP)
    rows = db.session.scalars(base.order_by(Ticket.resolution_due_at, Ticket.id).limit(limit))
    return list(rows), total


def waiting_for(ctx: ServiceContext, limit: int = 5) -> tuple[list[Ticket], int]:
    """Offers waiting for the actor's answer, and (for claimers) unassigned tickets."""
    base = ctx.scoped(select(Ticket), Ticket).where(
        Ticket.status.in_(("pending", "reopened")),
        or_(Ticket.assignee_id == ctx.actor_id, Ticket.assignee_id.is_(None)))
    total = capped_count(base, Ticket.id, CARD_COUNT_CAP)
    rows = db.session.scalars(base.order_by(Ticket.id.desc()).limit(limit))
    return list(rows), total


def search(ctx: ServiceContext, term: str, limit: int) -> list[Ticket]:
    term = (term or "").strip()
    if not term:
        return []
    like = f"%{term}%"
    stmt = ctx.scoped(select(Ticket), Ticket).where(
        or_(Ticket.ticket_no == term.upper(), Ticket.subject.ilike(like),
            Ticket.ticket_no.ilike(like))).order_by(Ticket.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))
