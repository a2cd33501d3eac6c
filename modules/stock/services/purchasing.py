"""Purchasing (seed 003 §2.1): the low-stock rule, purchase requests → approval →
purchase orders to a supplier → receiving (partial receipts) → stock up, waiting part
requests served in order.

The low-stock rule compares the *projected* stock — on hand + on order (open purchase
orders and purchase requests not ordered yet) − requested in any open state (drafts and
requests awaiting approval included) — with the part's minimum. Because its own open
purchase request counts as on order, running it every day raises one request per
shortage, not one a day (ERPNext counted only submitted requests and re-raised them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import update

from core.concurrency import conditional_update
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from modules.stock.models import PurchaseOrder
from modules.stock.models import PurchaseOrderLine
from modules.stock.models import PurchaseRequest
from modules.stock.models import Supplier
from modules.stock.queries import projected_stock
from modules.stock.services.ledger import _cost
from modules.stock.services.ledger import get_part
from modules.stock.services.ledger import get_warehouse
from modules.stock.services.ledger import post_move
from modules.stock.services.ledger import quantity
from modules.stock.services.ledger import stock_arrived


def raise_purchase_request(ctx: ServiceContext, part_id: int, qty: Any, *,
                           reason: str = "manual", snapshot: dict | None = None,
                           part_request_id: int | None = None,
                           note: str = "") -> PurchaseRequest:
    part = get_part(part_id)
    pr = PurchaseRequest(part_id=part.id, quantity=quantity(qty), reason=reason,
                         snapshot=snapshot, part_request_id=part_request_id,
                         requested_by_id=ctx.actor_id, note=note or None)
    db.session.add(pr)
    db.session.flush()
    return pr


def create_purchase_request(ctx: ServiceContext, part_id: int, qty: Any,
                            note: str = "") -> PurchaseRequest:
    ctx.require("stock.purchase.write")
    return raise_purchase_request(ctx, part_id, qty, note=note)


def low_stock_check(ctx: ServiceContext) -> list[PurchaseRequest]:
    """The daily rule: one purchase request per part whose projected stock is below its
    minimum, for the shortage (at least the reorder quantity), with the figures that
    triggered it; the warehouse group gets one card for the run."""
    raised = []
    for part, figures in projected_stock(below_minimum=True):
        shortage = part.min_stock_alert - figures["projected"]
        qty = max(shortage, part.reorder_quantity or 0)
        snapshot = {**figures, "min_stock_alert": part.min_stock_alert,
                    "reorder_quantity": part.reorder_quantity, "at": ctx.now.isoformat()}
        raised.append(raise_purchase_request(ctx, part.id, qty, reason="low_stock",
                                             snapshot=snapshot))
    if raised:
        from modules.stock.cards import push_low_stock_card

        push_low_stock_card(ctx, raised)
    return raised


def _get_pr(pr_id: int) -> PurchaseRequest:
    pr = db.session.get(PurchaseRequest, pr_id)
    if pr is None:
        raise NotFoundError(_("采购申请不存在"))
    return pr


def decide_purchase_request(ctx: ServiceContext, pr_id: int, approve: bool,
                            note: str = "") -> PurchaseRequest:
    ctx.require("stock.purchase.approve")
    pr = _get_pr(pr_id)
    status = "approved" if approve else "rejected"
    done = conditional_update(update(PurchaseRequest).where(
        PurchaseRequest.id == pr.id, PurchaseRequest.status == "pending").values(
        status=status, decided_by_id=ctx.actor_id, updated_at=ctx.now,
        note=(note or pr.note)))
    if not done:
        raise ConflictError(_("采购申请已处理"))
    db.session.expire(pr)
    return pr


def _supplier(supplier_id: Any) -> Supplier:
    sup = db.session.get(Supplier, supplier_id) if isinstance(supplier_id, int) else None
    if sup is None or not sup.active:
        raise ValidationError.of_fields({"supplier_id": _("供应商不存在")})
    return sup


def create_purchase_order(ctx: ServiceContext, supplier_id: int, warehouse_id: int,
                          lines: list[dict], *, expected_date: date | None = None,
                          notes: str = "", purchase_request_ids: list[int] = ()) -> PurchaseOrder:
    """An order to a supplier; approved purchase requests named are marked ordered."""
    ctx.require("stock.purchase.write")
    sup = _supplier(supplier_id)
    wh = get_warehouse(warehouse_id, "warehouse_id")
    order = PurchaseOrder(supplier_id=sup.id, warehouse_id=wh.id, expected_date=expected_date,
                          notes=notes or None, created_by_id=ctx.actor_id)
    for pr_id in purchase_request_ids:
        try:
            pr = _get_pr(pr_id)
        except NotFoundError as exc:
            raise ValidationError.of_fields({"purchase_request_ids": exc.message}) from None
        if pr.status != "approved":
            raise ValidationError.of_fields({"purchase_request_ids": _(
                "采购申请 #%(id)s 尚未批准或已下单", id=pr.id)})
        lines = [*lines, {"part_id": pr.part_id, "quantity": pr.quantity, "pr": pr}]
    if not lines:
        raise ValidationError.of_fields({"lines": _("请至少填写一行采购明细")})
    for i, item in enumerate(lines):
        try:
            part = get_part(item.get("part_id"))
        except NotFoundError as exc:
            raise ValidationError.of_fields({f"lines.{i}.part_id": exc.message}) from None
        cost = _cost(item.get("unit_cost"))
        order.lines.append(PurchaseOrderLine(
            part_id=part.id, quantity=quantity(item.get("quantity"), f"lines.{i}.quantity"),
            unit_cost=cost if cost is not None else (part.unit_price or part.average_cost)))
    db.session.add(order)
    db.session.flush()
    for item in lines:
        if "pr" in item:
            done = conditional_update(update(PurchaseRequest).where(
                PurchaseRequest.id == item["pr"].id, PurchaseRequest.status == "approved")
                .values(status="ordered", purchase_order_id=order.id, updated_at=ctx.now))
            if not done:
                raise ConflictError(_("采购申请已被他人下单"))
            db.session.expire(item["pr"])
    return order


def get_order(order_id: int) -> PurchaseOrder:
    order = db.session.get(PurchaseOrder, order_id)
    if order is None:
        raise NotFoundError(_("采购单不存在"))
    return order


def receive_order(ctx: ServiceContext, order_id: int, received: dict[int, Any],
                  note: str = "") -> PurchaseOrder:
    """Goods in (到货验收) for some lines (``{line_id: quantity}``): partial receipts
    allowed, never more than ordered; stock goes up at the line's cost and the waiting
    part requests are served in order."""
    ctx.require("stock.move.write")
    order = get_order(order_id)
    if order.status not in ("ordered", "partial"):
        raise ConflictError(_("采购单 %(number)s 已%(status)s，不能再收货", number=order.number,
                              status=_(order.status_label)))
    lines = {ln.id: ln for ln in order.lines}
    wanted = {}
    for line_id, value in received.items():
        line = lines.get(int(line_id)) if str(line_id).isdigit() else None
        if line is None:
            raise ValidationError.of_fields({"lines": _("采购明细不存在")})
        n = quantity(value, f"line_{line_id}", allow_zero=True)
        if n:
            wanted[line.id] = n
    if not wanted:
        raise ValidationError.of_fields({"lines": _("请填写本次到货数量")})
    for line_id, n in wanted.items():
        line = lines[line_id]
        done = conditional_update(update(PurchaseOrderLine).where(
            PurchaseOrderLine.id == line.id,
            PurchaseOrderLine.received_quantity + n <= PurchaseOrderLine.quantity)
            .values(received_quantity=PurchaseOrderLine.received_quantity + n))
        if not done:
            raise ValidationError.of_fields({f"line_{line_id}": _(
                "%(code)s 到货数量超过未到数量 %(open)s", code=line.part.part_code,
                open=line.open_quantity)})
        post_move(ctx, line.part, order.warehouse, n, "receipt", unit_cost=line.unit_cost,
                  purchase_order_id=order.id, note=note or None)
    db.session.expire_all()
    order = get_order(order_id)
    complete = all(ln.open_quantity <= 0 for ln in order.lines)
    order.status = "received" if complete else "partial"
    db.session.flush()
    stock_arrived(ctx, [lines[line_id].part_id for line_id in wanted])
    return order


def cancel_order(ctx: ServiceContext, order_id: int) -> PurchaseOrder:
    ctx.require("stock.purchase.write")
    order = get_order(order_id)
    done = conditional_update(update(PurchaseOrder).where(
        PurchaseOrder.id == order.id, PurchaseOrder.status == "ordered")
        .values(status="cancelled", updated_at=ctx.now))
    if not done:
        raise ConflictError(_("已有到货的采购单不能取消"))
    db.session.expire(order)
    return order

