"""Extension points of the stock module."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

import pluggy

if TYPE_CHECKING:
    from core.services import ServiceContext

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def part_request_decided(request: Any, ctx: ServiceContext) -> None:
    """A part request was approved (parts issued or queued), rejected or sent back for
    more information; ``request.status`` says which (``service_stock`` links it to the
    ticket)."""


@hookspec(firstresult=True)
def part_request_target(text: str, chat_id: str | None, ctx: ServiceContext) -> dict | None:
    """For ``#申请配件`` in chat: the ticket (and equipment) the request is for, from the
    rest of the command's text (``AS2024…``) or the chat's last ticket card, as
    ``{"ticket_id": int, "equipment_id": int | None}``; None when no module knows."""


@hookspec(firstresult=True)
def stock_reference_visible(field: str, value: int, ctx: ServiceContext) -> bool | None:
    """Whether the actor may name the record ``value`` as ``field`` (``ticket_id``,
    ``equipment_id``) in an API part request or checkout: True, False (missing or out of
    his sight, refused alike), or None when no installed module knows the field
    (``service_stock`` answers with the record rules)."""


@hookspec(firstresult=True)
def equipment_models_select() -> Any:
    """A SELECT of ``(id, name)`` rows naming each equipment record's model ("大金
    RXYQ20BAV"), which the usage statistics join to count parts by equipment model in one
    statement; None when no installed module knows equipment (``service_stock`` answers)."""


@hookspec
def stock_reference_labels(field: str, ids: list[int],
                           ctx: ServiceContext) -> dict[int, tuple[str, str | None]]:
    """Labels and links of the records part requests and usage name by id (``field``:
    ``ticket_id``, ``equipment_id``): ``{id: (label, url)}`` for those the actor may see;
    answered by the bridge that knows them (``service_stock``)."""


@hookspec
def stock_arrived(part_ids: list[int], ctx: ServiceContext) -> None:
    """Stock of these parts came in (receipt, return, transfer, count, purchase receipt);
    stock itself serves its waiting part requests in order."""
