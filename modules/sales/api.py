"""REST API for orders under ``/api/v1`` (seed 003's shapes)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Literal

from flask import Blueprint
from pydantic import Field
from pydantic import WithJsonSchema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import api
from modules.sales import queries
from modules.sales.models import Order
from modules.sales.services import orders as svc

bp = Blueprint("sales_api", __name__, url_prefix=api.API_PREFIX)

Status = Literal["pending", "confirmed", "paid", "delivered", "installed", "completed",
                 "cancelled"]


# An amount inside a list item: validated as :data:`api.Money` (a number is still read), but
# documented as the decimal string alone, the pattern next to it in the OpenAPI document.
LineMoney = Annotated[
    api.Money,
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"},
                   mode="validation"),
]


class LineOut(api.ApiOut):
    id: int
    product_name: str
    model: str | None
    brand: str | None
    equipment_type: str | None
    quantity: int
    unit_price: api.Money
    amount: api.Money
    delivered_quantity: int
    warranty_months: int
    maintenance_cycle_days: int


class OrderOut(api.ApiOut):
    id: int
    order_no: str
    opportunity_id: int | None
    customer_id: int
    customer_name: str
    status: Status
    total_amount: api.Money
    sales_user_id: int | None
    engineer_id: int | None
    delivery_address: str | None
    delivery_date: date | None
    install_date: date | None
    delivered_on: date | None
    installed_on: date | None
    cancel_reason: str | None
    lines: list[LineOut]
    created_at: datetime
    updated_at: datetime


class LineIn(api.ApiIn):
    product_name: str = Field(min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=100)
    brand: str | None = Field(default=None, max_length=50)
    equipment_type: str | None = Field(default=None, max_length=50)
    quantity: int = Field(default=1, ge=1, le=100000)
    unit_price: LineMoney = Field(ge=0)
    warranty_months: int = Field(default=36, ge=0, le=240)
    maintenance_cycle_days: int = Field(default=90, ge=0, le=3650)


class OrderIn(api.ApiIn):
    customer_id: int = Field(ge=1)
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    delivery_address: str | None = Field(default=None, max_length=500)
    delivery_date: date | None = None
    install_date: date | None = None
    engineer_id: int | None = Field(default=None, ge=1)
    sales_user_id: int | None = Field(default=None, ge=1)
    notes: str | None = Field(default=None, max_length=5000)


class OrderPatch(api.ApiIn):
    lines: list[LineIn] | None = Field(default=None, min_length=1, max_length=200)
    delivery_address: str | None = Field(default=None, max_length=500)
    delivery_date: date | None = None
    install_date: date | None = None
    engineer_id: int | None = Field(default=None, ge=1)
    notes: str | None = Field(default=None, max_length=5000)
    reason: str | None = Field(default=None, max_length=2000,
                               description="已确认订单的修改原因（必填）")


class StatusIn(api.ApiIn):
    status: Status
    reason: str | None = Field(default=None, max_length=2000)
    day: date | None = Field(default=None, description="配送/安装的实际日期（默认今天）")


class SerialIn(api.ApiIn):
    line_id: int = Field(ge=1)
    serial_number: str = Field(min_length=1, max_length=100)
    install_location: str | None = Field(default=None, max_length=200)


class InstallIn(api.ApiIn):
    serials: list[SerialIn] = Field(default_factory=list, max_length=10000)
    install_date: date | None = None


class ModificationOut(api.ApiOut):
    id: int
    field: str
    old_value: str | None
    new_value: str | None
    reason: str
    modified_by: int | None
    created_at: datetime


def _out(order: Order) -> dict:
    return {**{name: getattr(order, name) for name in OrderOut.model_fields
               if name not in ("customer_name", "lines")},
            "customer_name": order.customer.customer_name, "lines": order.lines}


ORDERS = api.Listing(
    Order,
    sort={"created_at": Order.created_at, "total_amount": Order.total_amount,
          "delivery_date": Order.delivery_date, "install_date": Order.install_date},
    default_sort="-created_at",
    filters={"status": Order.status, "customer_id": Order.customer_id,
             "sales_user_id": Order.sales_user_id, "engineer_id": Order.engineer_id,
             "opportunity_id": Order.opportunity_id},
    ranges={"total_amount": Order.total_amount, "delivery_date": Order.delivery_date,
            "install_date": Order.install_date, "created_at": Order.created_at},
    search=[Order.order_no],
)


@api.route(bp, "/orders", permission="sales.order.read", response=OrderOut, listing=ORDERS,
           tags=["sales"])
def list_orders(ctx):  # noqa: ANN001, ANN201
    """List the orders the caller may see."""
    page = ORDERS.page(ctx, select(Order).options(selectinload(Order.lines),
                                                  selectinload(Order.customer)))
    page.items = [_out(o) for o in page.items]
    return page


@api.route(bp, "/orders", methods=["POST"], permission="sales.order.create", body=OrderIn,
           response=OrderOut, status=201, tags=["sales"])
def create_order(ctx, body: OrderIn):  # noqa: ANN001, ANN201
    """Create a direct order (orders of won opportunities are made by ``#成交``)."""
    return _out(svc.create_order(ctx, body.model_dump()))


@api.route(bp, "/orders/<int:order_id>", permission="sales.order.read", response=OrderOut,
           tags=["sales"])
def get_order(ctx, order_id: int):  # noqa: ANN001, ANN201
    """One order with its lines (404 when the caller may not see it)."""
    return _out(queries.get_order(ctx, order_id))


@api.route(bp, "/orders/<int:order_id>", methods=["PATCH"], permission="sales.order.write",
           body=OrderPatch, response=OrderOut, tags=["sales"])
def update_order(ctx, order_id: int, body: OrderPatch):  # noqa: ANN001, ANN201
    """Change lines, dates, address or engineer; on a confirmed order each change is an
    order modification and needs a ``reason``."""
    data = body.model_dump(exclude_unset=True)
    reason = data.pop("reason", None)
    return _out(svc.update_order(ctx, order_id, data, reason))


@api.route(bp, "/orders/<int:order_id>/status", methods=["PATCH"],
           permission="sales.order.read", body=StatusIn, response=OrderOut, tags=["sales"])
def change_status(ctx, order_id: int, body: StatusIn):  # noqa: ANN001, ANN201
    """Move the order one step (``cancelled`` needs a ``reason``; ``installed`` goes through
    ``…/install`` when serial numbers are needed)."""
    return _out(svc.change_status(ctx, order_id, body.status, body.reason, on=body.day))


@api.route(bp, "/orders/<int:order_id>/install", methods=["POST"],
           permission="sales.order.install", body=InstallIn, response=OrderOut,
           tags=["sales"])
def install(ctx, order_id: int, body: InstallIn):  # noqa: ANN001, ANN201
    """Mark a delivered order installed with one serial number per unit; the equipment
    records are created in the same transaction."""
    serials = [s.model_dump() for s in body.serials]
    return _out(svc.install_order(ctx, order_id, serials, installed_on=body.install_date))


@api.route(bp, "/orders/<int:order_id>/modifications", permission="sales.order.read",
           response=ModificationOut, many=True, tags=["sales"])
def modifications(ctx, order_id: int):  # noqa: ANN001, ANN201
    """The changes made to the order since it was confirmed, newest first."""
    return list(queries.get_order(ctx, order_id).modifications)

