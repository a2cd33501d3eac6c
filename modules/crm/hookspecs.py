"""Extension points crm offers to the modules that depend on it."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

import pluggy

if TYPE_CHECKING:
    from core.services import ServiceContext
    from modules.crm.models.customer import Customer
    from modules.crm.models.opportunity import Opportunity
    from modules.crm.services.opportunities import Announcement

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def opportunity_won(opportunity: Opportunity, ctx: ServiceContext) -> str | None:
    """An opportunity was marked won (``#成交``, the web or the API); ``sales`` creates the
    order. An implementation may return a short note of what it did ("已生成订单 SO…"),
    which ``#成交`` shows in its answer (kept in ``ctx.extra["won_notes"]``)."""


@hookspec
def customers_handed_over(
    customer_ids: list[int], from_user_id: int | None, to_user_id: int, handover_id: int,
    ctx: ServiceContext,
) -> None:
    """A handover was confirmed: the customers now belong to ``to_user_id``."""


@hookspec
def handover_checklist_items(customer_ids: list[int], ctx: ServiceContext) -> list[dict]:
    """Items for a handover's checklist (orders, tickets, payments …) from other modules."""


@hookspec
def customer_hidden_fields(customer: Customer, ctx: ServiceContext) -> list[str]:
    """Fields of ``customer`` the actor must not see (``pool``: the fields an admin hides
    from claimers while the customer is in the pool). Detail pages and the API blank them."""


@hookspec
def customer_hidden_where(field: str, ctx: ServiceContext) -> Any:
    """A SQL condition on ``crm_customer`` true for the customers whose ``field`` is hidden
    from the actor (the rule of :func:`customer_hidden_fields`, for queries), or None.
    Searches leave those customers out of a match on that field: finding a customer by a
    phone number you may not see would tell you the number. The customer list, which reads
    plain rows rather than customers, masks the phone by it."""


@hookspec
def opportunity_announced(announcement: Announcement, ctx: ServiceContext) -> None:
    """A new unowned opportunity was announced to the sales team (an in-app notice each);
    ``announcement`` (``modules.crm.services.opportunities.Announcement``) carries the
    opportunity, its card in the installation's language, the recipients, the notice's
    title, body and dedupe key. Chat integrations push it on (``wecom_crm``: WeCom)."""
