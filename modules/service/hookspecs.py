"""Extension points the service module offers to the modules that depend on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy import Select

    from core.services import ServiceContext
    from modules.service.models import Ticket

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def ticket_resolved(ticket: Ticket, ctx: ServiceContext) -> None:
    """A ticket was resolved (``#已解决``, the web, the API): e.g. the equipment's
    maintenance record and next maintenance date are updated from the ticket."""


@hookspec
def service_sync_actions() -> dict[str, Callable[[ServiceContext, int, dict], Any]]:
    """More kinds of action the engineer's offline queue may hold, applied by the sync batch
    (``POST /api/v1/sync/batch``) like the service's own: ``{type: handler(ctx, ticket_id,
    payload)}`` (e.g. ``part_request`` from the ``service_stock`` bridge). A handler raises
    ``UserError`` for a conflict and ``ValidationError`` for bad input."""


@hookspec
def ticket_phone_actions(ticket: Ticket, ctx: ServiceContext) -> list[str]:
    """Extra HTML for a ticket's card on the engineer's phone page "my tickets today"
    (forms marked ``data-offline="<type>"`` are queued offline and sent with the batch)."""


@hookspec
def ticket_sections(ticket: Ticket, ctx: ServiceContext) -> list[str]:
    """Extra HTML blocks for the ticket detail page (e.g. the part requests of a ticket,
    from the ``service_stock`` bridge)."""


@hookspec
def ticket_parts_used(tickets: Select) -> list[tuple[Any, str, int]]:
    """The parts consumed by the tickets of ``tickets`` (a SELECT of ``(ticket id, group
    key)`` rows), summed per key and part as ``(key, part label, quantity)`` rows, for the
    failure analysis (e.g. from stock's parts usage, through the ``service_stock`` bridge,
    so that service never imports stock). A statement, not ids: the tickets of a period
    are thousands."""
