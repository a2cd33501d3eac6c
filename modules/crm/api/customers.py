"""REST API for customers, contacts and follow-ups under ``/api/v1`` (on :mod:`core.api`).

Field names follow seed 002's tables. A record the caller may not see answers 404, a
duplicate 409 (without the other record's fields), an invalid field 422 naming it.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any
from typing import Literal

from flask import Blueprint
from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from sqlalchemy.orm import selectinload

from core.api import api_view
from core.api import json_body
from core.api import paginate
from core.errors import ValidationError
from core.services import ServiceContext
from modules.crm import queries
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.services import contacts as contact_service
from modules.crm.services import customers as customer_service
from modules.crm.services import follow_ups as follow_up_service

bp = Blueprint("crm_customers_api", __name__, url_prefix="/api/v1")

TAGS = ["crm"]
SORTS = {
    "id": Customer.id.asc(),
    "-id": Customer.id.desc(),
    "customer_name": Customer.customer_name.asc(),
    "-customer_name": Customer.customer_name.desc(),
    "last_follow_up": Customer.last_follow_up_at.asc().nulls_first(),
    "-last_follow_up": Customer.last_follow_up_at.desc().nulls_last(),
    "created_at": Customer.created_at.asc(),
    "-created_at": Customer.created_at.desc(),
    "-updated_at": Customer.updated_at.desc(),
}
LIST_QUERY = [
    ("q", "string", "名称、手机号、税号或客户编号"),
    ("customer_type", "string", "individual / enterprise"),
    ("customer_level", "string", "important / normal / potential"),
    ("status", "string", "active / inactive / in_pool"),
    ("owner_id", "integer", "负责人"),
    ("tag", "string", "标签"),
    ("industry", "string", "所属行业"),
]

CustomerType = Literal["individual", "enterprise"]
Level = Literal["important", "normal", "potential"]
Status = Literal["active", "inactive", "in_pool"]


class CustomerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_type: CustomerType | None = None
    customer_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    tax_id: str | None = Field(default=None, max_length=32)
    industry: str | None = None
    customer_level: Level | None = None
    tags: list[str] | str | None = None
    address: str | None = None
    source: str | None = None
    remark: str | None = None
    owner_id: int | None = None
    status: Status | None = None
    locked: bool | None = None


class CustomerCreate(CustomerPatch):
    customer_type: CustomerType = "individual"
    customer_name: str = Field(max_length=200)


class CustomerOut(BaseModel):
    id: int
    number: str
    customer_name: str
    customer_type: CustomerType
    phone: str | None
    tax_id: str | None
    industry: str | None
    customer_level: Level
    tags: list[str]
    address: str | None
    source: str | None
    remark: str | None
    owner_id: int | None
    owner_name: str | None
    owner_since: datetime | None
    status: Status
    locked: bool
    last_follow_up: datetime | None
    created_at: datetime
    updated_at: datetime
    hidden_fields: list[str] = Field(
        default=[], description="fields withheld from the caller (null above), e.g. in the pool"
    )


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    is_primary: bool | None = None
    remark: str | None = None


class ContactOut(BaseModel):
    id: int
    customer_id: int
    name: str
    title: str | None
    phone: str | None
    email: str | None
    wechat: str | None
    is_primary: bool
    remark: str | None


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str
    channel: str | None = None
    follow_up_at: datetime | None = None
    next_follow_up_date: date | None = None
    opportunity_id: int | None = Field(default=None, ge=1)


class FollowUpOut(BaseModel):
    id: int
    customer_id: int
    opportunity_id: int | None
    user_id: int | None
    follow_up_at: datetime
    channel: str
    content: str
    next_follow_up_date: date | None


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_json(c: Customer, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The API shape of a customer; ``hidden`` fields travel as null and are listed."""
    out = {
        "id": c.id,
        "number": c.number,
        "customer_name": c.customer_name,
        "customer_type": c.customer_type,
        "phone": c.phone,
        "tax_id": c.tax_id,
        "industry": c.industry,
        "customer_level": c.customer_level,
        "tags": c.tag_list,
        "address": c.address,
        "source": c.source,
        "remark": c.remark,
        "owner_id": c.owner_id,
        "owner_name": c.owner.name if c.owner else None,
        "owner_since": _iso(c.owner_since),
        "status": c.status,
        "locked": c.locked,
        "last_follow_up": _iso(c.last_follow_up_at),
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
        "hidden_fields": sorted(hidden),
    }
    for key in hidden & out.keys():
        out[key] = None
    return out


def contact_json(c: Contact, hide_reach: bool = False) -> dict[str, Any]:
    """The API shape of a contact; ``hide_reach`` withholds phone, e-mail and WeChat."""
    reach = dict.fromkeys(("phone", "email", "wechat")) if hide_reach else {
        "phone": c.phone, "email": c.email, "wechat": c.wechat}
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "name": c.name,
        "title": c.title,
        **reach,
        "is_primary": c.is_primary,
        "remark": c.remark,
    }


def follow_up_json(f: FollowUp) -> dict[str, Any]:
    return {
        "id": f.id,
        "customer_id": f.customer_id,
        "opportunity_id": f.opportunity_id,
        "user_id": f.user_id,
        "follow_up_at": _iso(f.follow_up_at),
        "channel": f.channel,
        "content": f.content,
        "next_follow_up_date": _iso(f.next_follow_up_date),
    }


# --- customers ----------------------------------------------------------------------------


def _owner_filter() -> int | None:
    raw = request.args.get("owner_id")
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError(_("owner_id 必须是整数"), fields={"owner_id": _("必须是整数")})
    return int(raw)


@bp.get("/customers")
@api_view("crm.customer.read", list_endpoint=True, query=LIST_QUERY, tags=TAGS)
def list_customers(ctx: ServiceContext) -> dict:
    """List the customers the caller may see."""
    filters = {
        k: request.args.get(k) or None
        for k in ("q", "customer_type", "customer_level", "status", "tag", "industry")
    }
    stmt = queries.search_customers(ctx, owner_id=_owner_filter(), scoped=False, **filters)
    stmt = stmt.options(selectinload(Customer.owner))
    return paginate(ctx, stmt, Customer, lambda c: _customer_out(ctx, c), sorts=SORTS,
                    default_sort="-id")


def _customer_out(ctx: ServiceContext, customer: Customer) -> dict[str, Any]:
    return customer_json(customer, queries.hidden_fields(ctx, customer))


@bp.post("/customers")
@api_view("crm.customer.create", body=CustomerCreate, response=CustomerOut, status=201, tags=TAGS)
def create_customer(ctx: ServiceContext) -> dict:
    """Create a customer (owner defaults to the caller)."""
    body = json_body(CustomerCreate, partial=True)
    return customer_json(customer_service.create_customer(ctx, body))


@bp.get("/customers/<customer_id>")
@api_view("crm.customer.read", response=CustomerOut, tags=TAGS)
def get_customer(ctx: ServiceContext, customer_id: str) -> dict:
    """One customer, by id or number (``CUS-000123``)."""
    return _customer_out(ctx, queries.get_customer(ctx, customer_id))


@bp.patch("/customers/<customer_id>")
@api_view("crm.customer.write", body=CustomerPatch, response=CustomerOut, tags=TAGS)
def update_customer(ctx: ServiceContext, customer_id: str) -> dict:
    """Change the fields sent."""
    target = queries.get_customer(ctx, customer_id).id
    return _customer_out(ctx, customer_service.update_customer(ctx, target,
                                                  json_body(CustomerPatch, partial=True)))


# --- contacts and follow-ups ---------------------------------------------------------------


@bp.get("/customers/<customer_id>/contacts")
@api_view("crm.contact.read", tags=TAGS)
def list_contacts(ctx: ServiceContext, customer_id: str) -> dict:
    """The customer's contacts."""
    customer = queries.get_customer(ctx, customer_id)
    hide = "phone" in queries.hidden_fields(ctx, customer)
    return {"data": [contact_json(c, hide) for c in queries.list_contacts(ctx, customer.id)]}


@bp.post("/customers/<customer_id>/contacts")
@api_view("crm.contact.create", body=ContactIn, response=ContactOut, status=201, tags=TAGS)
def create_contact(ctx: ServiceContext, customer_id: str) -> dict:
    """Add a contact to the customer."""
    customer = queries.get_customer(ctx, customer_id)
    body = json_body(ContactIn, partial=True)
    return contact_json(contact_service.add_contact(ctx, customer.id, body))


@bp.patch("/contacts/<int:contact_id>")
@api_view("crm.contact.write", body=ContactIn, response=ContactOut, tags=TAGS)
def update_contact(ctx: ServiceContext, contact_id: int) -> dict:
    """Change a contact."""
    body = json_body(ContactIn, partial=True)
    return contact_json(contact_service.update_contact(ctx, contact_id, body))


@bp.delete("/contacts/<int:contact_id>")
@api_view("crm.contact.delete", status=204, tags=TAGS)
def delete_contact(ctx: ServiceContext, contact_id: int) -> None:
    """Delete a contact."""
    contact_service.delete_contact(ctx, contact_id)


@bp.get("/customers/<customer_id>/follow-ups")
@api_view("crm.follow_up.read", tags=TAGS)
def list_follow_ups(ctx: ServiceContext, customer_id: str) -> dict:
    """The customer's follow-ups, newest first."""
    customer = queries.get_customer(ctx, customer_id)
    return {"data": [follow_up_json(f) for f in queries.list_follow_ups(ctx, customer.id)]}


@bp.post("/customers/<customer_id>/follow-ups")
@api_view("crm.follow_up.create", body=FollowUpIn, response=FollowUpOut, status=201, tags=TAGS)
def create_follow_up(ctx: ServiceContext, customer_id: str) -> dict:
    """Record a follow-up (moves the customer's last follow-up time)."""
    customer = queries.get_customer(ctx, customer_id)
    body = json_body(FollowUpIn, partial=True)
    return follow_up_json(follow_up_service.add_follow_up(ctx, customer.id, body))
