"""Extension points of the pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def pool_exempt_where() -> ColumnElement[bool] | None:
    """Customers that must not be recycled, as a condition on ``crm_customer`` rows (e.g.
    ``sales``: ``EXISTS`` an open order of the customer), so that the due customers are one
    statement however many there are."""
