"""Extension points of the pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.services import ServiceContext

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def pool_exempt_customers(customer_ids: list[int], ctx: ServiceContext) -> list[int]:
    """Customers that must not be recycled (e.g. ``sales``: an open won order)."""
