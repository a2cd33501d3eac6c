"""Batch sync (seed 003 §3): actions an engineer queued offline are applied one by one
through the same services, each answered ``applied``, ``conflict`` (with the ticket as it is
now, e.g. it was transferred meanwhile) or ``error`` (bad input). An action that fails
leaves the others alone (each runs in its own savepoint)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import TandemError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.models import Ticket
from modules.service.services import onsite
from modules.service.services import photos
from modules.service.services import tickets as svc

MAX_ACTIONS = 200


def _at(payload: dict) -> datetime | None:
    raw = payload.get("at")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(_("时间格式无效"), fields={"at": _("时间格式无效")}) from exc
    return moment if moment.tzinfo else None


HANDLERS: dict[str, Callable[[ServiceContext, int, dict], Any]] = {
    "progress": lambda ctx, t, p: svc.update_progress(ctx, t, p.get("percent"),
                                                      p.get("note", "")),
    "start": lambda ctx, t, p: svc.start_service(ctx, t, p.get("note", "")),
    "check_in": lambda ctx, t, p: onsite.check_in(ctx, t, p.get("lat"), p.get("lng"), _at(p)),
    "check_out": lambda ctx, t, p: onsite.check_out(ctx, t, p.get("lat"), p.get("lng"),
                                                    _at(p)),
    "resolve": lambda ctx, t, p: svc.resolve_ticket(ctx, t, p),
    "revisit": lambda ctx, t, p: svc.mark_revisit(ctx, t, p.get("note", "")),
    "details": lambda ctx, t, p: svc.update_ticket(ctx, t, p),
    "accept": lambda ctx, t, p: svc.accept_ticket(ctx, t),
    "photo": lambda ctx, t, p: photos.add_photo(ctx, t, photos.decode_data_url(p.get("photo")),
                                                str(p.get("phase") or "other"),
                                                str(p.get("caption") or "")),
}


def handlers() -> dict[str, Callable[[ServiceContext, int, dict], Any]]:
    """The service's own actions and those other modules add (``service_sync_actions``)."""
    from core.hooks import call

    merged = dict(HANDLERS)
    for extra in call("service_sync_actions") or []:
        for kind, handler in (extra or {}).items():
            merged.setdefault(kind, handler)
    return merged


def _current(ticket_id: Any) -> Ticket | None:
    try:
        return db.session.get(Ticket, int(ticket_id))
    except (TypeError, ValueError):
        return None


def _still_mine(ctx: ServiceContext, ticket: Ticket | None, action: dict) -> bool:
    """The engineer acted on his ticket: a ticket transferred or closed meanwhile is a
    conflict, whatever the service would say."""
    if ticket is None:
        return False
    expected = action.get("assignee_id", ctx.actor_id)
    return ticket.assignee_id == expected or ctx.actor_id in ticket.collaborator_ids


def apply_batch(ctx: ServiceContext, actions: list[dict],
                out: Callable[[Ticket], dict]) -> list[dict[str, Any]]:
    if len(actions) > MAX_ACTIONS:
        raise ValidationError(_("一次最多同步 %(n)s 条", n=MAX_ACTIONS))
    results = []
    known_handlers = handlers()
    for action in actions:
        client_id = action.get("id")
        kind = action.get("type")
        ticket_id = action.get("ticket_id")
        payload = action.get("payload") or {}
        result: dict[str, Any] = {"id": client_id, "type": kind, "ticket_id": ticket_id}
        known = _current(ticket_id)
        if known is not None:  # the engineer had its number in his queue
            result["ticket_no"] = known.ticket_no
        handler = known_handlers.get(str(kind))
        if handler is None or not isinstance(payload, dict):
            results.append({**result, "status": "error", "message": _("不支持的操作")})
            continue
        ticket = _current(ticket_id)
        if kind != "accept" and not _still_mine(ctx, ticket, action):
            visible = ticket is not None and db.session.scalar(
                svc.ticket_select(ctx).where(Ticket.id == ticket.id)) is not None
            who = ticket.assignee.name if ticket is not None and ticket.assignee else _("无人")
            results.append({**result, "status": "conflict",
                            "message": _("工单已转给%(who)s，您的操作未生效", who=who)
                            if ticket is not None and ticket.is_open
                            else _("工单已结束或不存在，您的操作未生效"),
                            "ticket": out(ticket) if visible else None})
            continue
        try:
            with unit_of_work(ctx):  # a savepoint: a refused action leaves nothing behind
                handler(ctx, int(ticket_id), payload)
                db.session.flush()
        except (NotFoundError, PermissionDenied, UserError) as exc:
            db.session.expire_all()
            ticket = _current(ticket_id)
            visible = ticket is not None and db.session.scalar(
                svc.ticket_select(ctx).where(Ticket.id == ticket.id)) is not None
            status = "error" if isinstance(exc, ValidationError) else "conflict"
            results.append({**result, "status": status, "message": exc.message,
                            "ticket": out(ticket) if visible else None})
            continue
        except TandemError as exc:  # ValidationError and others: bad input
            db.session.expire_all()
            results.append({**result, "status": "error", "message": exc.message,
                            "fields": exc.fields})
            continue
        db.session.expire_all()
        results.append({**result, "status": "applied", "ticket": out(_current(ticket_id))})
    return results
