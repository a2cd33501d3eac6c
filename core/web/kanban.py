"""A kanban board: one column per status, per-column counts in one GROUP BY and the first
cards of each column, all through the record rules; cards move by drag and drop, posting to
an endpoint that calls the same service as the form and the API.

    board = Kanban(Opportunity, Opportunity.status, STATUSES, title=lambda o: o.product_name,
                   fields=lambda o: [("客户", o.customer.customer_name)],
                   detail_endpoint="crm.opportunity", move_endpoint="crm.opportunity_move")
    return board.render(web_ctx(), select(Opportunity), title="商机看板")

The move endpoint receives JSON ``{"id": …, "status": …}`` (CSRF token in ``X-CSRFToken``)
and answers 200, or an error JSON ``{"error": {"message"}}`` that puts the card back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import render_template
from flask import url_for
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext


@dataclass
class Kanban:
    model: type
    status_column: Any
    columns: dict[str, str]  # status value → label
    title: Callable[[Any], str]
    move_endpoint: str
    fields: Callable[[Any], list[tuple[str, Any]]] = lambda _row: []
    detail_endpoint: str | None = None
    per_column: int = 30
    options: list[Any] = field(default_factory=list)

    def counts(self, ctx: ServiceContext, base: Any) -> dict[str, int]:
        scoped = ctx.scoped(base, self.model).subquery()
        status = scoped.c[self.status_column.key]
        rows = db.session.execute(select(status, func.count()).group_by(status))
        counts = dict.fromkeys(self.columns, 0)
        counts.update({value: n for value, n in rows if value in counts})
        return counts

    def cards(self, ctx: ServiceContext, base: Any) -> dict[str, list[Any]]:
        out = {}
        for value in self.columns:
            stmt = (ctx.scoped(base, self.model).where(self.status_column == value)
                    .options(*self.options).order_by(self.model.id.desc())
                    .limit(self.per_column))
            out[value] = list(db.session.scalars(stmt).unique())
        return out

    def render(self, ctx: ServiceContext, base: Any, *, title: str,
               live_models: str | None = None) -> str:
        return render_template(
            "core/components/kanban.html", board=self, title=title,
            counts=self.counts(ctx, base), cards=self.cards(ctx, base),
            move_url=url_for(self.move_endpoint), live_models=live_models or
            self.model.__tablename__,
            detail_url=(lambda row: url_for(self.detail_endpoint, id=row.id))
            if self.detail_endpoint else None,
        )
