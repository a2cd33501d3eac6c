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
from flask_babel import gettext
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import union_all

from core.extensions import db
from core.services import ServiceContext
from core.web.links import record_url


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

    def counts(self, ctx: ServiceContext, base: Any, *, scoped: Any = None) -> dict[str, int]:
        """Cards per column in one GROUP BY, through the record rules."""
        scoped = scoped if scoped is not None else ctx.scoped(base, self.model)
        rows = db.session.execute(
            scoped.order_by(None)
            .with_only_columns(self.status_column, func.count(), maintain_column_froms=True)
            .group_by(self.status_column))
        counts = dict.fromkeys(self.columns, 0)
        counts.update({value: n for value, n in rows if value in counts})
        return counts

    def cards(self, ctx: ServiceContext, base: Any, *, scoped: Any = None) -> dict[str, list[Any]]:
        """The newest ``per_column`` records of every column: their ids in one UNION of
        per-column LIMIT queries, then the records (and ``options``) in one load."""
        scoped = scoped if scoped is not None else ctx.scoped(base, self.model)
        pk = self.model.id
        per_column = [
            scoped.with_only_columns(pk).where(self.status_column == value)
            .order_by(pk.desc()).limit(self.per_column).subquery().select()
            for value in self.columns
        ]
        ids = list(db.session.scalars(union_all(*per_column)))
        out: dict[str, list[Any]] = {value: [] for value in self.columns}
        if ids:
            rows = db.session.scalars(select(self.model).where(pk.in_(ids))
                                      .options(*self.options).order_by(pk.desc())).unique()
            for row in rows:
                out[getattr(row, self.status_column.key)].append(row)
        return out

    def render(self, ctx: ServiceContext, base: Any, *, title: str,
               live_models: str | None = None) -> str:
        scoped = ctx.scoped(base, self.model)  # the record rules, resolved once
        detail = record_url(self.detail_endpoint) if self.detail_endpoint else None
        labels: dict[str, str] = {}  # field labels, each translated once

        def card(row: Any) -> dict[str, Any]:
            fields = []
            for label, value in self.fields(row):
                if label not in labels:
                    labels[label] = gettext(label)
                fields.append((labels[label], value))
            return {"id": row.id, "title": self.title(row),
                    "url": detail(row.id) if detail else None, "fields": fields}

        cards = {value: [card(row) for row in rows]
                 for value, rows in self.cards(ctx, base, scoped=scoped).items()}
        return render_template(
            "core/components/kanban.html", board=self, title=title,
            counts=self.counts(ctx, base, scoped=scoped), cards=cards,
            move_url=url_for(self.move_endpoint), live_models=live_models or
            self.model.__tablename__,
        )
