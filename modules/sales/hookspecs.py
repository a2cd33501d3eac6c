"""Extension points of sales."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.services import ServiceContext
    from modules.sales.models import Order

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def order_status_changed(order: Order, old: str, new: str, ctx: ServiceContext) -> None:
    """An order moved from ``old`` to ``new`` (inside the transaction that moved it)."""


@hookspec
def order_installed(order: Order, installations: list[dict], ctx: ServiceContext) -> list:
    """An order is being marked installed. ``installations`` has one dict per unit
    (``line``: the OrderLine, ``serial_number``, ``install_location``, ``install_date``);
    ``equipment`` creates the equipment records in the same transaction (raising
    ``core.errors.ValidationError`` rolls the whole installation back)."""


@hookspec
def order_units(order: Order, ctx: ServiceContext) -> list[dict]:
    """What was installed for ``order`` (``equipment``: one dict per unit with ``id``,
    ``equipment_no``, ``serial_number``, ``equipment_type``, ``install_location``,
    ``warranty_end_date`` and ``url``), for the order page, ``#已安装`` and the read-only
    link. Unscoped: the caller shows them only with the order it may see."""


@hookspec
def order_tickets(order: Order) -> list[dict]:
    """The after-sales tickets of ``order`` for its read-only link (``service``: one dict per
    ticket with ``ticket_no``, ``type_label``, ``status_label``, ``subject``, ``created_on``
    and ``resolved_on``). Nothing internal — no description, notes, contacts or staff — and
    phone numbers in the subject masked. Unscoped: the caller shows them only with the
    order the link opens."""
