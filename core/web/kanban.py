"""A kanban board: one column per status, per-column counts in one GROUP BY and the first
cards of each column, all through the record rules; cards move by drag and drop, posting to
an endpoint that calls the same service as the form and the API.

    board = Kanban(Opportunity, Opportunity.status, STATUSES, title=lambda o: o.product_name,
                   fields=lambda o: [("客户", o.customer.customer_name)],
                   detail_endpoint="crm.opportunity", move_endpoint="crm.opportunity_move")
    return board.render(web_ctx(), select(Opportunity), title="商机看板")

The move endpoint receives JSON ``{"id": …, "status": …}`` (and ``"reason"`` for a column
in ``reasons``; CSRF token in ``X-CSRFToken``) and answers 200, or an error JSON
``{"error": {"message"}}`` that puts the card back.

``amount`` (a column) adds each column's ¥ sum next to its count; ``filters`` (the list
views' :class:`~core.web.listview.Filter`, e.g. owner and date) narrow the board from the
query string; ``reasons`` maps a status to the label of the text a move there needs
(``{"lost": "丢单原因"}``): dropping a card there opens a small dialog asking for it, then
posts the move with it. Each card also has a "移动到…" menu (for phones, where dragging is
awkward) that posts the same move.

``count_cap`` (boards without ``amount`` only) counts each column up to that many cards,
shown as "10,000+" beyond, as the lists do: at a million records a full GROUP BY costs
each page view a scan of every row (100–200 ms), a capped count per column an index range.
``few_cards`` then has the cards of a column counted at most that many found by the record
rules' indexes and sorted, not by walking the order's index past what the rules hide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import union_all

from core.extensions import db
from core.paging import capped_label
from core.services import ServiceContext
from core.web.links import record_url
from core.web.templating import money


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
    amount: Any = None  # a column summed per status (¥ totals in the headers)
    filters: list[Any] = field(default_factory=list)  # core.web.listview.Filter
    reasons: dict[str, str] = field(default_factory=dict)  # status → label of the reason
    card_amount: Callable[[Any], Any] | None = None  # a card's amount (moves the totals)
    count_cap: int | None = None  # count each column up to this many (None: exact counts)
    few_cards: int | None = None  # a column counted at most this many: cards sorted apart

    def counts(self, ctx: ServiceContext, base: Any, *, scoped: Any = None) -> dict[str, int]:
        """Cards per column in one GROUP BY, through the record rules."""
        return {value: n for value, (n, _sum) in self.totals(ctx, base, scoped=scoped).items()}

    def totals(self, ctx: ServiceContext, base: Any, *,
               scoped: Any = None) -> dict[str, tuple[int, Any]]:
        """``(count, sum of amount)`` per column in one GROUP BY, through the record rules
        (the sum is None without ``amount``)."""
        scoped = scoped if scoped is not None else ctx.scoped(base, self.model)
        if self.count_cap is not None and self.amount is None:
            return self._capped_totals(scoped)
        figures = [func.count()]
        if self.amount is not None:
            figures.append(func.coalesce(func.sum(self.amount), 0))
        rows = db.session.execute(
            scoped.order_by(None)
            .with_only_columns(self.status_column, *figures, maintain_column_froms=True)
            .group_by(self.status_column))
        empty = (0, 0 if self.amount is not None else None)
        totals: dict[str, tuple[int, Any]] = dict.fromkeys(self.columns, empty)
        for value, n, *total in rows:
            if value in totals:
                totals[value] = (n, total[0] if total else None)
        return totals

    def _capped_totals(self, scoped: Any) -> dict[str, tuple[int, Any]]:
        """Each column's count up to ``count_cap + 1``, in one UNION ALL of capped counts."""
        assert self.count_cap is not None
        pk = self.model.id
        parts = []
        for value in self.columns:
            inner = (scoped.order_by(None).with_only_columns(pk, maintain_column_froms=True)
                     .where(self.status_column == value).limit(self.count_cap + 1).subquery())
            parts.append(select(func.count()).select_from(inner))
        counts = list(db.session.scalars(union_all(*parts)))
        return {value: (n, None) for value, n in zip(self.columns, counts, strict=True)}

    def filtered(self, base: Any) -> Any:
        """``base`` narrowed by the filters given in the query string (a bad value: 400)."""
        for flt in self.filters:
            raw = request.args.get(flt.key, "").strip()
            if raw:
                base = flt.apply(base, raw)
        return base

    def cards(self, ctx: ServiceContext, base: Any, *, scoped: Any = None,
              counts: dict[str, int] | None = None) -> dict[str, list[Any]]:
        """The newest ``per_column`` records of every column: their ids in one UNION of
        per-column LIMIT queries, then the records (and ``options``) in one load.

        A column that ``counts`` puts at ``few_cards`` or fewer is ordered by ``id + 0``: the
        same order, but PostgreSQL cannot walk the primary key (or the column's index)
        backwards for it, past every row the record rules hide (an engineer's 51 resolved
        tickets among 180,000: 0.2 s); it finds the few rows by the rules' indexes and
        sorts them."""
        scoped = scoped if scoped is not None else ctx.scoped(base, self.model)
        pk = self.model.id

        def order(value: str) -> Any:
            few = (self.few_cards is not None and counts is not None
                   and counts.get(value, self.few_cards + 1) <= self.few_cards)
            return (pk + 0).desc() if few else pk.desc()

        per_column = [
            scoped.with_only_columns(pk).where(self.status_column == value)
            .order_by(order(value)).limit(self.per_column).subquery().select()
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
               live_models: str | None = None, actions: Any = ()) -> str:
        base = self.filtered(base)
        scoped = ctx.scoped(base, self.model)  # the record rules, resolved once
        detail = record_url(self.detail_endpoint) if self.detail_endpoint else None
        labels: dict[str, str] = {}  # field labels, each translated once

        def card(row: Any) -> dict[str, Any]:
            fields = []
            for label, value in self.fields(row):
                if label not in labels:
                    labels[label] = gettext(label)
                fields.append((labels[label], value))
            amount = (self.card_amount(row) if self.card_amount is not None
                      else getattr(row, self.amount.key, None) if self.amount is not None
                      else None)
            return {"id": row.id, "title": self.title(row), "status": getattr(
                row, self.status_column.key), "amount": amount,
                    "url": detail(row.id) if detail else None, "fields": fields}

        totals = self.totals(ctx, base, scoped=scoped)
        counts = {value: n for value, (n, _sum) in totals.items()}
        cards = {value: [card(row) for row in rows] for value, rows in
                 self.cards(ctx, base, scoped=scoped, counts=counts).items()}
        cap = self.count_cap if self.amount is None else None
        return render_template(
            "core/components/kanban.html", board=self, title=title,
            counts=counts,
            count_labels={value: capped_label(n, cap) for value, (n, _sum) in totals.items()},
            sums={value: (money(total) if self.amount is not None else None)
                  for value, (_n, total) in totals.items()},
            cards=cards, actions=actions,
            filtering=any(request.args.get(f.key) for f in self.filters),
            move_url=url_for(self.move_endpoint), live_models=live_models or
            self.model.__tablename__,
        )
