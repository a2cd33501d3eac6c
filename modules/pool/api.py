"""Pool actions under ``/api/v1``."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from pydantic import Field
from sqlalchemy import select

from core import api
from modules.crm.models.customer import Customer
from modules.pool import queries
from modules.pool.services import customers as customer_service

bp = Blueprint("pool_api", __name__, url_prefix=api.API_PREFIX)


class PoolCustomerOut(api.ApiOut):
    id: int
    customer_name: str
    customer_type: str
    customer_level: str
    industry: str | None
    phone: str | None
    status: str
    owner_id: int | None
    last_follow_up: datetime | None


class ReleaseIn(api.ApiIn):
    reason: str = Field(min_length=1, max_length=500)


class AssignIn(api.ApiIn):
    owner_id: int = Field(ge=1)


def _out(customer: Customer, mask: set[str] | None = None) -> dict:
    mask = mask or set()
    return {
        "id": customer.id,
        "customer_name": customer.customer_name,
        "customer_type": customer.customer_type,
        "customer_level": customer.customer_level,
        "industry": None if "industry" in mask else customer.industry,
        "phone": None if "phone" in mask else customer.phone,
        "status": customer.status,
        "owner_id": customer.owner_id,
        "last_follow_up": customer.last_follow_up_at,
    }


POOL = api.Listing(
    Customer,
    sort={"updated_at": Customer.updated_at, "customer_name": Customer.customer_name},
    default_sort="-updated_at",
    filters={"customer_level": Customer.customer_level},
    search=[Customer.customer_name],
)


@api.route(
    bp,
    "/pool/customers",
    permission="pool.customer.read",
    response=PoolCustomerOut,
    listing=POOL,
    tags=["pool"],
)
def pool_customers(ctx):  # noqa: ANN001, ANN201
    """Customers in the pool (fields the admin hid are null for claimers)."""
    mask = set() if ctx.can("pool.customer.assign") else queries.hidden_fields()
    page = POOL.page(ctx, select(Customer).where(Customer.status == "in_pool"))
    page.items = [_out(c, mask) for c in page.items]
    return page


@api.route(
    bp,
    "/pool/customers/<int:customer_id>/claim",
    methods=["POST"],
    permission="pool.customer.claim",
    response=PoolCustomerOut,
    tags=["pool"],
)
def claim(ctx, customer_id: int):  # noqa: ANN001, ANN201
    """Claim a pool customer (409 when someone was faster; 400 past a cap or cool-down)."""
    return _out(customer_service.claim(ctx, customer_id))


@api.route(
    bp,
    "/pool/customers/<int:customer_id>/assign",
    methods=["POST"],
    permission="pool.customer.assign",
    body=AssignIn,
    response=PoolCustomerOut,
    tags=["pool"],
)
def assign(ctx, customer_id: int, body: AssignIn):  # noqa: ANN001, ANN201
    """Assign a pool customer to a salesperson (managers)."""
    return _out(customer_service.assign(ctx, customer_id, body.owner_id))


@api.route(
    bp,
    "/customers/<int:customer_id>/release",
    methods=["POST"],
    permission="pool.customer.release",
    body=ReleaseIn,
    response=PoolCustomerOut,
    tags=["pool"],
)
def release(ctx, customer_id: int, body: ReleaseIn):  # noqa: ANN001, ANN201
    """Move a customer to the pool; a reason is required."""
    return _out(customer_service.release(ctx, customer_id, body.reason))
