"""Extension points of the pool."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def pool_exempt_customers(customer_ids: list[int], ctx: Any) -> list[int]:
    """Customers that must not be recycled (e.g. ``sales``: an open won order)."""
