"""Extension points the service module offers to the modules that depend on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.services import ServiceContext
    from modules.service.models import Ticket

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def ticket_resolved(ticket: Ticket, ctx: ServiceContext) -> None:
    """A ticket was resolved (``#已解决``, the web, the API): e.g. the equipment's
    maintenance record and next maintenance date are updated from the ticket."""


@hookspec
def ticket_sections(ticket: Ticket, ctx: ServiceContext) -> list[str]:
    """Extra HTML blocks for the ticket detail page (e.g. the part requests of a ticket,
    from the ``service_stock`` bridge)."""


@hookspec
def ticket_parts_used(ticket_ids: list[int]) -> list[tuple[int, str, int]]:
    """The parts these tickets consumed, as ``(ticket id, part label, quantity)`` rows, for
    the failure analysis (e.g. from stock's parts usage, through the ``service_stock``
    bridge, so that service never imports stock)."""
