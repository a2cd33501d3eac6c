"""Registrations of the service × stock bridge (installed automatically with both)."""

from __future__ import annotations

from typing import Any

from core import hookimpl
from modules.service_stock import services


@hookimpl
def part_request_target(text: str, chat_id: str | None, ctx: Any) -> dict | None:
    """``#申请配件 AC-FILTER-001 1 [AS…]``: the ticket named, else the chat's last ticket."""
    return services.request_target(ctx, text, chat_id)


@hookimpl
def stock_reference_visible(field: str, value: int, ctx: Any) -> bool | None:
    """A ticket or an equipment named on a part request or a checkout: one the actor sees."""
    return services.reference_visible(ctx, field, value)


PAGES = {"ticket_id": "service.detail", "equipment_id": "equipment.detail"}


@hookimpl
def stock_reference_labels(field: str, ids: list[int], ctx: Any) -> dict:
    """The ticket and the unit a part request names, as their number and place, with
    their pages."""
    from flask import url_for

    if field not in PAGES:
        return {}
    return {i: (label, url_for(PAGES[field], id=i))
            for i, label in services.reference_labels(ctx, field, ids).items()}


@hookimpl
def equipment_models_select() -> Any:
    """Parts used by equipment model: each unit's brand and model."""
    return services.equipment_models()


@hookimpl
def load_demo_data(ctx: Any) -> None:
    """The stock demo's request, made before the after-sales demo had tickets, is for its
    requester's first ticket."""
    services.link_demo_request(ctx)


@hookimpl
def part_request_decided(request: Any, ctx: Any) -> None:
    services.request_decided(ctx, request)


@hookimpl
def service_sync_actions() -> dict:
    """``part_request`` in the engineer's offline queue: applied by the sync batch."""
    return {"part_request": services.sync_part_request}


@hookimpl
def ticket_phone_actions(ticket: Any, ctx: Any) -> list[str]:
    """A part request form on the ticket's card of the phone page (queued, sent with the
    batch: it works offline)."""
    from flask import render_template

    if not (ctx.can("stock.request.create") and ticket.is_open):
        return []
    return [render_template("service_stock/phone_parts.html", t=ticket)]


@hookimpl
def ticket_sections(ticket: Any, ctx: Any) -> list[str]:
    """The ticket page's block of part requests."""
    from flask import render_template

    rows = services.requests_of(ticket.id) if ctx.can("stock.request.read") else []
    return [render_template("service_stock/ticket_parts.html", rows=rows, t=ticket,
                            can_request=ctx.can("stock.request.create") and ticket.is_open)]


@hookimpl
def ticket_parts_used(tickets: Any) -> list[tuple[Any, str, int]]:
    """stock's parts usage of these tickets, for service's failure analysis."""
    return services.parts_used(tickets)
