"""Extension points of sales."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def order_status_changed(order: Any, old: str, new: str, ctx: Any) -> None:
    """An order moved from ``old`` to ``new`` (inside the transaction that moved it)."""


@hookspec
def order_installed(order: Any, installations: list[dict], ctx: Any) -> list[Any]:
    """An order is being marked installed. ``installations`` has one dict per unit
    (``line``: the OrderLine, ``serial_number``, ``install_location``, ``install_date``);
    ``equipment`` creates the equipment records in the same transaction (raising
    ``core.errors.ValidationError`` rolls the whole installation back)."""
