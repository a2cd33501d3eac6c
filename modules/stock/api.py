"""Stock endpoints under ``/api/v1`` (issue 17; shapes of seed 003's inventory API)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Annotated
from typing import Literal

from flask import Blueprint
from flask_babel import gettext as _
from pydantic import BaseModel
from pydantic import Field
from pydantic import Strict
from pydantic import WithJsonSchema
from sqlalchemy import select

from core import api
from core.errors import ValidationError
from modules.stock import queries
from modules.stock.models import OnHand
from modules.stock.models import Part
from modules.stock.models import PartRequest
from modules.stock.models import PurchaseOrder
from modules.stock.models import Supplier
from modules.stock.models import Warehouse
from modules.stock.services import catalogue
from modules.stock.services import ledger
from modules.stock.services import purchasing
from modules.stock.services import requests as req_svc

bp = Blueprint("stock_api", __name__, url_prefix=api.API_PREFIX)
TAGS = ["stock"]

# An id inside a list (``harden`` tightens a field's own ``int``, not a list's items).
Id = Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]
# An amount inside a list item: validated as :data:`api.Money` (a number is still read), but
# documented as the decimal string alone, the pattern next to it in the OpenAPI document.
LineMoney = Annotated[
    api.Money,
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"},
                   mode="validation"),
]


class PartOut(api.ApiOut):
    id: int
    part_code: str
    part_name: str
    category: str
    specification: str | None
    applicable_models: str | None
    unit: str
    unit_price: api.Money | None
    average_cost: Decimal | None  # moving average, 4 decimals
    min_stock_alert: int
    reorder_quantity: int
    supplier_id: int | None
    active: bool
    on_hand: int
    updated_at: datetime


class PartIn(api.ApiIn):
    # What ``catalogue.create_part`` takes (it upper-cases), declared (issue 14 #17).
    part_code: str = Field(min_length=1, max_length=50, json_schema_extra={
        "pattern": r"^[A-Za-z0-9][A-Za-z0-9._\-]{1,49}$"})
    part_name: str = Field(min_length=1, max_length=200)
    category: str = "other"
    specification: str | None = Field(default=None, max_length=200)
    applicable_models: str | None = Field(default=None, max_length=2000)
    unit: str = Field(default="个", max_length=16)
    unit_price: api.Money | None = None
    min_stock_alert: int = Field(default=0, ge=0, le=1_000_000)
    reorder_quantity: int = Field(default=0, ge=0, le=1_000_000)
    supplier_id: int | None = None
    substitute_ids: list[Id] = Field(default_factory=list, max_length=20)


class PartPatch(api.ApiIn):
    part_name: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = None
    specification: str | None = Field(default=None, max_length=200)
    applicable_models: str | None = Field(default=None, max_length=2000)
    unit: str | None = Field(default=None, max_length=16)
    unit_price: api.Money | None = None
    min_stock_alert: int | None = Field(default=None, ge=0, le=1_000_000)
    reorder_quantity: int | None = Field(default=None, ge=0, le=1_000_000)
    supplier_id: int | None = None
    substitute_ids: list[Id] | None = Field(default=None, max_length=20)
    active: bool | None = None


class PartsQuery(BaseModel):  # a query string: "true" is a boolean here
    low_stock: bool | None = None


PARTS = api.Listing(
    Part,
    sort={"part_code": Part.part_code, "part_name": Part.part_name, "updated_at": Part.updated_at},
    default_sort="part_code",
    filters={"category": Part.category, "active": Part.active},
    search=[Part.part_code, Part.part_name, Part.specification],
)


def _part_out(part: Part, on_hand: int | None = None) -> dict:
    return {**{k: getattr(part, k) for k in PartOut.model_fields if k != "on_hand"},
            "on_hand": part.on_hand_total if on_hand is None else on_hand}


# A listed part as plain columns, in PartOut's field order (``on_hand``: the part's total).
_LISTED = [(name, Part.on_hand_total if name == "on_hand" else getattr(Part, name))
           for name in PartOut.model_fields]


def _listed(stmt):  # noqa: ANN001, ANN202
    return stmt.with_only_columns(*(col.label(n) for n, col in _LISTED),
                                  maintain_column_froms=True)


@api.route(bp, "/parts", permission="stock.part.read", response=PartOut, listing=PARTS,
           query=PartsQuery, tags=TAGS)
def list_parts(ctx, query: PartsQuery):  # noqa: ANN001, ANN201
    """Parts (``?category=&low_stock=true&q=``) with their on-hand over all warehouses."""
    stmt = select(Part)
    if query.low_stock is not None:
        clause = queries.low_stock_clause()
        stmt = stmt.where(clause if query.low_stock else ~clause)
    page = PARTS.page(ctx, stmt, row_select=_listed)
    names = tuple(n for n, _c in _LISTED)  # the row's first columns, in this order
    page.items = [dict(zip(names, row, strict=False)) for row in page.items]
    page.shaped = True  # as PartOut gives them (test_api.py compares with the single GET)
    return page


@api.route(bp, "/parts", methods=["POST"], permission="stock.part.write", body=PartIn,
           response=PartOut, status=201, tags=TAGS)
def create_part(ctx, body: PartIn):  # noqa: ANN001, ANN201
    """Add a part to the catalogue (``part_code`` unique: 409 when taken)."""
    return _part_out(catalogue.create_part(ctx, body.model_dump()), 0)


@api.route(bp, "/parts/<int:part_id>", permission="stock.part.read", response=PartOut,
           tags=TAGS)
def get_part(ctx, part_id: int):  # noqa: ANN001, ANN201
    """One part with its total on-hand."""
    return _part_out(ledger.get_part(part_id))


@api.route(bp, "/parts/<int:part_id>", methods=["PATCH"], permission="stock.part.write",
           body=PartPatch, response=PartOut, tags=TAGS)
def update_part(ctx, part_id: int, body: PartPatch):  # noqa: ANN001, ANN201
    """Change a part (only the fields sent)."""
    return _part_out(catalogue.update_part(ctx, part_id, body.model_dump(exclude_unset=True)))


class CheckoutIn(api.ApiIn):
    quantity: int = Field(ge=1, le=1_000_000)
    warehouse_id: int | None = None
    ticket_id: int | None = Field(default=None, ge=1)
    equipment_id: int | None = Field(default=None, ge=1)
    purpose: Literal["repair", "maintenance", "replacement"] = "repair"
    technician_id: int | None = Field(default=None, ge=1)


class MoveOut(api.ApiOut):
    id: int
    part_id: int
    warehouse_id: int
    kind: str
    quantity: int
    unit_cost: Decimal | None
    ticket_id: int | None
    request_id: int | None
    created_at: datetime
    on_hand: int


def _move_out(move) -> dict:  # noqa: ANN001
    return {**{k: getattr(move, k) for k in MoveOut.model_fields if k != "on_hand"},
            "on_hand": ledger.on_hand(move.part_id, move.warehouse_id)}


@api.route(bp, "/parts/<int:part_id>/checkout", methods=["POST"], permission="stock.move.issue",
           body=CheckoutIn, response=MoveOut, status=201, tags=TAGS)
def checkout(ctx, part_id: int, body: CheckoutIn):  # noqa: ANN001, ANN201
    """Issue parts now (409 ``out_of_stock`` with the quantity on hand when short)."""
    wh = body.warehouse_id or req_svc.default_warehouse().id
    return _move_out(ledger.checkout(ctx, part_id, wh, body.quantity, body.ticket_id,
                                     body.equipment_id, body.purpose, body.technician_id))


class ItemIn(api.ApiIn):
    part_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=1_000_000)
    urgency: Literal["normal", "urgent"] = "normal"


class PartRequestIn(api.ApiIn):
    ticket_id: int | None = Field(default=None, ge=1)
    equipment_id: int | None = Field(default=None, ge=1)
    items: list[ItemIn] = Field(min_length=1, max_length=50)
    notes: str = Field(default="", max_length=2000)
    purpose: Literal["repair", "maintenance", "replacement"] = "repair"
    warehouse_id: int | None = None
    draft: bool = False


class LineOut(api.ApiOut):
    id: int
    part_id: int
    quantity: int
    issued_quantity: int
    returned_quantity: int
    urgency: str
    original_part_id: int | None


class PartRequestOut(api.ApiOut):
    id: int
    number: str
    status: str
    requester_id: int | None
    ticket_id: int | None
    equipment_id: int | None
    warehouse_id: int | None
    purpose: str
    urgency: str
    notes: str | None
    decision_note: str | None
    lines: list[LineOut]
    created_at: datetime


REQUESTS = api.Listing(PartRequest, sort={"id": PartRequest.id}, default_sort="-id",
                       filters={"status": PartRequest.status,
                                "ticket_id": PartRequest.ticket_id,
                                "requester_id": PartRequest.requester_id})


@api.route(bp, "/part-requests", permission="stock.request.read", response=PartRequestOut,
           listing=REQUESTS, tags=TAGS)
def list_requests(ctx):  # noqa: ANN001, ANN201
    """Part requests the caller may see (engineers: their own)."""
    return REQUESTS.page(ctx, select(PartRequest))


@api.route(bp, "/part-requests", methods=["POST"], permission="stock.request.create",
           body=PartRequestIn, response=PartRequestOut, status=201, tags=TAGS)
def create_request(ctx, body: PartRequestIn):  # noqa: ANN001, ANN201
    """Ask for parts (for a ticket): waits for approval (``draft``: kept as a draft)."""
    return req_svc.create_request(ctx, [i.model_dump() for i in body.items], body.ticket_id,
                                  body.equipment_id, body.notes, purpose=body.purpose,
                                  warehouse_id=body.warehouse_id, submit=not body.draft)


@api.route(bp, "/part-requests/<int:request_id>", permission="stock.request.read",
           response=PartRequestOut, tags=TAGS)
def get_request(ctx, request_id: int):  # noqa: ANN001, ANN201
    """One part request."""
    return req_svc.get_request(ctx, request_id)


class ApproveIn(api.ApiIn):
    when_short: Literal["queue", "refuse", "purchase"] = "queue"
    warehouse_id: int | None = None


@api.route(bp, "/part-requests/<int:request_id>/approve", methods=["POST"],
           permission="stock.request.approve", body=ApproveIn, response=PartRequestOut,
           tags=TAGS)
def approve(ctx, request_id: int, body: ApproveIn):  # noqa: ANN001, ANN201
    """Approve and issue; when short the line waits in the queue (or ``refuse`` → 409,
    ``purchase`` → also an urgent purchase request)."""
    return req_svc.approve_request(ctx, request_id, when_short=body.when_short,
                                   warehouse_id=body.warehouse_id)


class RejectIn(api.ApiIn):
    reason: str = Field(min_length=1, max_length=2000)


@api.route(bp, "/part-requests/<int:request_id>/reject", methods=["POST"],
           permission="stock.request.approve", body=RejectIn, response=PartRequestOut,
           tags=TAGS)
def reject(ctx, request_id: int, body: RejectIn):  # noqa: ANN001, ANN201
    """Reject with a reason."""
    return req_svc.reject_request(ctx, request_id, body.reason)


class QuestionIn(api.ApiIn):
    question: str = Field(min_length=1, max_length=2000)


@api.route(bp, "/part-requests/<int:request_id>/ask-info", methods=["POST"],
           permission="stock.request.approve", body=QuestionIn, response=PartRequestOut,
           tags=TAGS)
def ask_info(ctx, request_id: int, body: QuestionIn):  # noqa: ANN001, ANN201
    """Send the request back to the requester with a question."""
    return req_svc.ask_for_information(ctx, request_id, body.question)


class WarehouseOut(api.ApiOut):
    id: int
    code: str
    name: str
    kind: str
    engineer_id: int | None
    active: bool


WAREHOUSES = api.Listing(Warehouse, sort={"code": Warehouse.code}, default_sort="code",
                         filters={"kind": Warehouse.kind, "active": Warehouse.active})


@api.route(bp, "/warehouses", permission="stock.part.read", response=WarehouseOut,
           listing=WAREHOUSES, tags=TAGS)
def warehouses(ctx):  # noqa: ANN001, ANN201
    """Warehouses, engineers' vans included (kind ``van``)."""
    return WAREHOUSES.page(ctx, select(Warehouse))


class SupplierOut(api.ApiOut):
    id: int
    name: str
    contact_name: str | None
    phone: str | None
    active: bool


class SupplierIn(api.ApiIn):
    name: str = Field(min_length=1, max_length=200)
    contact_name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=40)


SUPPLIERS = api.Listing(Supplier, sort={"name": Supplier.name}, default_sort="name",
                        search=[Supplier.name])


@api.route(bp, "/suppliers", permission="stock.purchase.read", response=SupplierOut,
           listing=SUPPLIERS, tags=TAGS)
def suppliers(ctx):  # noqa: ANN001, ANN201
    """Suppliers."""
    return SUPPLIERS.page(ctx, select(Supplier))


@api.route(bp, "/suppliers", methods=["POST"], permission="stock.part.write", body=SupplierIn,
           response=SupplierOut, status=201, tags=TAGS)
def create_supplier(ctx, body: SupplierIn):  # noqa: ANN001, ANN201
    """Add a supplier (the name is unique: 409 when taken)."""
    return catalogue.create_supplier(ctx, body.name, body.contact_name, body.phone)


class StockOut(api.ApiOut):
    part_id: int
    warehouse_id: int
    on_hand: int


STOCK = api.Listing(OnHand, sort={"part_id": OnHand.part_id}, default_sort="part_id",
                    filters={"part_id": OnHand.part_id, "warehouse_id": OnHand.warehouse_id})


@api.route(bp, "/stock", permission="stock.part.read", response=StockOut, listing=STOCK,
           tags=TAGS)
def stock(ctx):  # noqa: ANN001, ANN201
    """On-hand per part and warehouse (``?part_id=&warehouse_id=``)."""
    return STOCK.page(ctx, select(OnHand))


class ReceiptIn(api.ApiIn):
    part_id: int = Field(ge=1)
    warehouse_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=1_000_000)
    unit_cost: api.Money | None = None
    note: str = Field(default="", max_length=500)


@api.route(bp, "/stock/receipts", methods=["POST"], permission="stock.move.write",
           body=ReceiptIn, response=MoveOut, status=201, tags=TAGS)
def receipt(ctx, body: ReceiptIn):  # noqa: ANN001, ANN201
    """A receipt without a purchase order (opening stock …); waiting requests are served."""
    return _move_out(ledger.receive(ctx, body.part_id, body.warehouse_id, body.quantity,
                                    body.unit_cost, body.note))


@api.route(bp, "/stock/returns", methods=["POST"], permission="stock.move.write",
           body=ReceiptIn, response=MoveOut, status=201, tags=TAGS)
def stock_return(ctx, body: ReceiptIn):  # noqa: ANN001, ANN201
    """Unused parts back into a warehouse (退料) without a request; the queue is served."""
    return _move_out(ledger.return_parts(ctx, body.part_id, body.warehouse_id, body.quantity,
                                         body.note))


class ReverseIn(api.ApiIn):
    note: str = Field(default="", max_length=500)


@api.route(bp, "/stock/moves/<int:move_id>/reverse", methods=["POST"],
           permission="stock.move.write", body=ReverseIn, response=MoveOut, status=201,
           tags=TAGS)
def reverse_move(ctx, move_id: int, body: ReverseIn):  # noqa: ANN001, ANN201
    """Cancel a ledger entry by its reversing entry (409 when the stock is gone)."""
    return _move_out(ledger.reverse(ctx, move_id, body.note))


class PoLineIn(api.ApiIn):
    part_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=1_000_000)
    unit_cost: LineMoney | None = Field(default=None, ge=0)


class PurchaseOrderIn(api.ApiIn):
    supplier_id: int = Field(ge=1)
    warehouse_id: int = Field(ge=1)
    expected_date: date | None = None
    notes: str = Field(default="", max_length=2000)
    lines: list[PoLineIn] = Field(default_factory=list, max_length=100)
    purchase_request_ids: list[Id] = Field(default_factory=list, max_length=100)


class PoLineOut(api.ApiOut):
    id: int
    part_id: int
    quantity: int
    received_quantity: int
    unit_cost: api.Money


class PurchaseOrderOut(api.ApiOut):
    id: int
    number: str
    supplier_id: int
    warehouse_id: int
    status: str
    expected_date: date | None
    notes: str | None
    lines: list[PoLineOut]
    created_at: datetime


ORDERS = api.Listing(PurchaseOrder, sort={"id": PurchaseOrder.id,
                                          "expected_date": PurchaseOrder.expected_date},
                     default_sort="-id", filters={"status": PurchaseOrder.status,
                                                  "supplier_id": PurchaseOrder.supplier_id})


@api.route(bp, "/purchase-orders", permission="stock.purchase.read", response=PurchaseOrderOut,
           listing=ORDERS, tags=TAGS)
def list_orders(ctx):  # noqa: ANN001, ANN201
    """Purchase orders."""
    return ORDERS.page(ctx, select(PurchaseOrder))


@api.route(bp, "/purchase-orders", methods=["POST"], permission="stock.purchase.write",
           body=PurchaseOrderIn, response=PurchaseOrderOut, status=201, tags=TAGS)
def create_order(ctx, body: PurchaseOrderIn):  # noqa: ANN001, ANN201
    """Order from a supplier: lines and/or approved purchase requests."""
    return purchasing.create_purchase_order(
        ctx, body.supplier_id, body.warehouse_id, [ln.model_dump() for ln in body.lines],
        expected_date=body.expected_date, notes=body.notes,
        purchase_request_ids=body.purchase_request_ids)


@api.route(bp, "/purchase-orders/<int:order_id>/cancel", methods=["POST"],
           permission="stock.purchase.write", response=PurchaseOrderOut, tags=TAGS)
def cancel_order(ctx, order_id: int):  # noqa: ANN001, ANN201
    """Cancel an order nothing was received on yet (409 otherwise)."""
    return purchasing.cancel_order(ctx, order_id)


class ReceiveLineIn(api.ApiIn):
    line_id: int = Field(ge=1)
    quantity: int = Field(ge=0, le=1_000_000)


class ReceiveIn(api.ApiIn):
    lines: list[ReceiveLineIn] = Field(min_length=1, max_length=100)
    note: str = Field(default="", max_length=500)


@api.route(bp, "/purchase-orders/<int:order_id>/receive", methods=["POST"],
           permission="stock.move.write", body=ReceiveIn, response=PurchaseOrderOut, tags=TAGS)
def receive(ctx, order_id: int, body: ReceiveIn):  # noqa: ANN001, ANN201
    """Goods in, partly or fully; stock goes up and waiting requests are served in order."""
    wanted: dict[int, int] = {}
    for line in body.lines:
        if line.line_id in wanted:
            raise ValidationError.of_fields({"lines": _("同一明细请只写一次")})
        wanted[line.line_id] = line.quantity
    return purchasing.receive_order(ctx, order_id, wanted, body.note)

