"""Reads of the stock module: on-hand, on order, requested, projected stock, lists.

Aggregates are computed in SQL, one statement per figure for all parts at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select

from core.extensions import db
from core.paging import inline
from core.services import ServiceContext
from modules.stock.models import OPEN_PURCHASE_ORDER_STATUSES
from modules.stock.models import OPEN_PURCHASE_REQUEST_STATUSES
from modules.stock.models import OPEN_REQUEST_STATUSES
from modules.stock.models import OnHand
from modules.stock.models import Part
from modules.stock.models import PartRequest
from modules.stock.models import PartRequestLine
from modules.stock.models import PurchaseOrder
from modules.stock.models import PurchaseOrderLine
from modules.stock.models import PurchaseRequest
from modules.stock.models import StockMove
from modules.stock.models import Warehouse


def on_hand_sq() -> Any:
    return (select(OnHand.part_id, func.sum(OnHand.on_hand).label("qty"))
            .group_by(OnHand.part_id).subquery("oh"))


def on_order_sq() -> Any:
    ordered = (select(PurchaseOrderLine.part_id.label("part_id"),
                      (PurchaseOrderLine.quantity - PurchaseOrderLine.received_quantity)
                      .label("qty"))
               .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
               .where(PurchaseOrder.status.in_(OPEN_PURCHASE_ORDER_STATUSES)))
    requested = (select(PurchaseRequest.part_id.label("part_id"),
                        PurchaseRequest.quantity.label("qty"))
                 .where(PurchaseRequest.status.in_(OPEN_PURCHASE_REQUEST_STATUSES)))
    both = ordered.union_all(requested).subquery("o")
    return (select(both.c.part_id, func.sum(both.c.qty).label("qty"))
            .group_by(both.c.part_id).subquery("oo"))


def requested_sq() -> Any:
    """Open quantity of part requests in any open state (drafts included)."""
    return (select(PartRequestLine.part_id,
                   func.sum(PartRequestLine.quantity - PartRequestLine.issued_quantity)
                   .label("qty"))
            .join(PartRequest, PartRequest.id == PartRequestLine.request_id)
            .where(PartRequest.status.in_(OPEN_REQUEST_STATUSES))
            .group_by(PartRequestLine.part_id).subquery("rq"))


def figures_select() -> tuple[Any, Any, Any, Any]:
    """``SELECT Part, on_hand, on_order, requested, projected`` over all parts."""
    oh, oo, rq = on_hand_sq(), on_order_sq(), requested_sq()
    on_hand = func.coalesce(oh.c.qty, 0)
    on_order = func.coalesce(oo.c.qty, 0)
    requested = func.coalesce(rq.c.qty, 0)
    projected = on_hand + on_order - requested
    stmt = (select(Part, on_hand.label("on_hand"), on_order.label("on_order"),
                   requested.label("requested"), projected.label("projected"))
            .outerjoin(oh, oh.c.part_id == Part.id)
            .outerjoin(oo, oo.c.part_id == Part.id)
            .outerjoin(rq, rq.c.part_id == Part.id))
    return stmt, on_hand, projected, Part.min_stock_alert


def projected_stock(*, below_minimum: bool = False,
                    part_ids: list[int] | None = None) -> list[tuple[Part, dict[str, int]]]:
    stmt, _on_hand, projected, minimum = figures_select()
    stmt = stmt.where(Part.active.is_(True))
    if below_minimum:
        stmt = stmt.where(minimum > 0, projected < minimum)
    if part_ids is not None:
        stmt = stmt.where(Part.id.in_(part_ids))
    out = []
    for part, oh, oo, rq, pj in db.session.execute(stmt.order_by(Part.part_code)):
        out.append((part, {"on_hand": int(oh), "on_order": int(oo), "requested": int(rq),
                           "projected": int(pj)}))
    return out


def low_stock_clause() -> Any:
    """Parts whose on-hand (all warehouses) is below their minimum."""
    return and_(Part.min_stock_alert > inline(0), Part.on_hand_total < Part.min_stock_alert)


def total_on_hand_expr() -> Any:
    """A part's on-hand over all warehouses (kept on the part by the ledger)."""
    return Part.on_hand_total


def stock_by_warehouse(part_id: int) -> list[tuple[Warehouse, int]]:
    rows = db.session.execute(
        select(Warehouse, func.coalesce(OnHand.on_hand, 0))
        .outerjoin(OnHand, and_(OnHand.warehouse_id == Warehouse.id, OnHand.part_id == part_id))
        .where(or_(Warehouse.active.is_(True), OnHand.on_hand > 0))
        .order_by(Warehouse.kind != "main", Warehouse.id))
    return [(wh, int(qty)) for wh, qty in rows]


def open_order_lines(part_id: int) -> list[PurchaseOrderLine]:
    return list(db.session.scalars(
        select(PurchaseOrderLine).join(PurchaseOrder)
        .where(PurchaseOrderLine.part_id == part_id,
               PurchaseOrder.status.in_(OPEN_PURCHASE_ORDER_STATUSES),
               PurchaseOrderLine.received_quantity < PurchaseOrderLine.quantity)
        .order_by(PurchaseOrder.expected_date, PurchaseOrder.id)))


def ledger(part_id: int, limit: int = 50) -> list[StockMove]:
    return list(db.session.scalars(
        select(StockMove).where(StockMove.part_id == part_id)
        .order_by(StockMove.id.desc()).limit(limit)))


def ledger_sums() -> dict[tuple[int, int], int]:
    rows = db.session.execute(select(StockMove.part_id, StockMove.warehouse_id,
                                     func.sum(StockMove.quantity))
                              .group_by(StockMove.part_id, StockMove.warehouse_id))
    return {(p, w): int(q) for p, w, q in rows}


def on_hand_table() -> dict[tuple[int, int], int]:
    return {(r.part_id, r.warehouse_id): r.on_hand for r in db.session.scalars(select(OnHand))}


def requests_select(ctx: ServiceContext) -> Any:
    return ctx.scoped(select(PartRequest), PartRequest)


def pending_requests(ctx: ServiceContext, limit: int = 5) -> tuple[list[PartRequest], int]:
    stmt = requests_select(ctx).where(PartRequest.status == "pending")
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(stmt.order_by(PartRequest.id).limit(limit)))
    return rows, total


def parts_below_minimum(limit: int = 5) -> tuple[list[tuple[Part, int]], int]:
    """The first ``limit`` active parts below their minimum (none read for 0) and how many."""
    total = db.session.scalar(select(func.count()).select_from(Part).where(
        Part.active.is_(True), low_stock_clause())) or 0
    if not limit or not total:
        return [], total
    stmt = select(Part, total_on_hand_expr()).where(Part.active.is_(True), low_stock_clause())
    rows = [(p, int(q)) for p, q in db.session.execute(stmt.order_by(Part.part_code).limit(limit))]
    return rows, total


def receipts_expected(day: Any, limit: int = 5) -> tuple[list[PurchaseOrder], int]:
    stmt = select(PurchaseOrder).where(PurchaseOrder.status.in_(OPEN_PURCHASE_ORDER_STATUSES),
                                       PurchaseOrder.expected_date <= day)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(db.session.scalars(stmt.order_by(PurchaseOrder.expected_date,
                                                 PurchaseOrder.id).limit(limit))), total


def part_matches(term: str) -> Any:
    """Parts whose code starts with ``term`` (any case) or whose name holds it, wildcards
    taken as written: what a picker's suggestions and the count sheet's search find."""
    return or_(Part.part_code.startswith(term.upper(), autoescape=True),
               Part.part_name.contains(term, autoescape=True))


def search_parts(term: str, limit: int) -> list[Part]:
    like = f"%{term.strip()}%"
    return list(db.session.scalars(
        select(Part).where(or_(Part.part_code.ilike(like), Part.part_name.ilike(like)))
        .order_by(Part.part_code).limit(limit)))


USAGE_GROUPS = {"part": "配件", "category": "类别", "engineer": "工程师", "month": "月份",
                "model": "设备型号"}


def usage_stats(ctx: ServiceContext, group: str, date_from: Any = None,
                date_to: Any = None, limit: int = 200) -> list[dict[str, Any]]:
    """Parts used (issues less returns) by part, category, engineer, month or equipment
    model, with their value at the cost they were issued at — one aggregate in SQL.
    Equipment models come from the ``equipment_models_select`` hook, joined in the same
    statement ("未知" for a use without a known model, and for all when no installed
    module knows equipment)."""
    from core import hooks
    from modules.stock.models import PartsUsage

    value = func.sum(PartsUsage.quantity * func.coalesce(PartsUsage.unit_cost, 0))
    qty = func.sum(PartsUsage.quantity)
    unknown = literal("未知", db.String)
    joins: list[tuple[Any, Any]] = []
    key: Any
    if group == "month":
        key = func.substr(func.cast(PartsUsage.usage_date, db.String), 1, 7)
    elif group == "engineer":
        key = func.coalesce(PartsUsage.engineer_name, "-")
    elif group == "category":
        key = Part.category
        joins.append((Part, Part.id == PartsUsage.part_id))
    elif group == "model":
        models = hooks.call("equipment_models_select")
        if models is None:  # no module knows equipment: one total, of unknown models
            key = None
        else:
            models = models.subquery()
            key = func.coalesce(models.c.name, unknown)
            joins.append((models, models.c.id == PartsUsage.equipment_id))
    else:
        key = PartsUsage.part_code
    stmt = (select((unknown if key is None else key).label("key"), qty.label("quantity"),
                   value.label("value"),
                   func.count(func.distinct(PartsUsage.ticket_id)).label("tickets"))
            .order_by(qty.desc()).limit(limit))
    if key is not None:
        stmt = stmt.group_by(key)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    if date_from is not None:
        stmt = stmt.where(PartsUsage.usage_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(PartsUsage.usage_date <= date_to)
    rows = [{"key": r.key, "quantity": int(r.quantity or 0), "value": r.value or 0,
             "tickets": int(r.tickets or 0)} for r in db.session.execute(stmt)
            if r.quantity is not None]  # (the one total over no rows)
    if group == "part":
        names = dict(db.session.execute(select(Part.part_code, Part.part_name).where(
            Part.part_code.in_([r["key"] for r in rows]))).all())
        for r in rows:
            r["key"] = f"{r['key']} {names.get(r['key'], '')}".strip()
    return rows


def reference_labels(ctx: ServiceContext, field: str,
                     ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """``{id: (label, url)}`` of the tickets or equipment (``field``) records name, from
    the modules that know them (``stock_reference_labels``); ids no module labels are
    left out (the caller shows the bare number)."""
    from core import hooks

    wanted = sorted({i for i in ids if i})
    labels: dict[int, tuple[str, str | None]] = {}
    if wanted:
        for answer in hooks.call("stock_reference_labels", field=field, ids=wanted,
                                 ctx=ctx) or []:
            labels.update(answer or {})
    return labels
