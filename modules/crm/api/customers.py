"""REST API for customers, contacts and follow-ups under ``/api/v1`` (on :mod:`core.api`).

Field names are the tables' (``customer_name``, ``customer_type`` …). A record the caller
may not see answers 404, a duplicate 409 (without the other record's fields), an invalid
field 422 naming it.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Literal

from flask import Blueprint
from flask import request
from flask_babel import gettext as _
from pydantic import Field
from sqlalchemy.orm import selectinload

from core import api
from core.errors import ValidationError
from core.services import ServiceContext
from modules.crm import queries
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.services import contacts as contact_service
from modules.crm.services import customers as customer_service
from modules.crm.services import follow_ups as follow_up_service

bp = Blueprint("crm_customers_api", __name__, url_prefix=api.API_PREFIX)

TAGS = ["crm"]
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


class CustomerPatch(api.ApiIn):
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


class CustomerOut(api.ApiOut):
    id: int
    number: str
    customer_name: str
    customer_type: CustomerType
    phone: str | None
    tax_id: str | None
    industry: str | None
    customer_level: Level
    tags: list[str] = Field(validation_alias="tag_list")
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


class ContactIn(api.ApiIn):
    name: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    is_primary: bool | None = None
    remark: str | None = None


class ContactOut(api.ApiOut):
    id: int
    customer_id: int
    name: str
    title: str | None
    phone: str | None
    email: str | None
    wechat: str | None
    is_primary: bool
    remark: str | None


class FollowUpIn(api.ApiIn):
    content: str
    channel: str | None = None
    follow_up_at: datetime | None = None
    next_follow_up_date: date | None = None
    opportunity_id: int | None = Field(default=None, ge=1)


class FollowUpOut(api.ApiOut):
    id: int
    customer_id: int
    opportunity_id: int | None
    user_id: int | None
    follow_up_at: datetime
    channel: str
    content: str
    next_follow_up_date: date | None


_REACH = ("phone", "email", "wechat")  # a contact's, withheld with the customer's phone


def _out(ctx: ServiceContext, customer: Customer) -> CustomerOut:
    """The answer for a customer: the fields hidden from the caller travel as null and are
    listed in ``hidden_fields``."""
    hidden = queries.hidden_fields(ctx, customer)
    out = CustomerOut.model_validate(customer)
    if not hidden:
        return out
    masked = dict.fromkeys(hidden & CustomerOut.model_fields.keys())
    return out.model_copy(update={**masked, "hidden_fields": sorted(hidden)})


def _contact_out(contact: Contact, hide_reach: bool) -> ContactOut:
    out = ContactOut.model_validate(contact)
    return out.model_copy(update=dict.fromkeys(_REACH)) if hide_reach else out


# --- customers ----------------------------------------------------------------------------

CUSTOMERS = api.Listing(
    Customer,
    sort={
        "customer_name": Customer.customer_name,
        "last_follow_up": Customer.last_follow_up_at.asc().nulls_first(),
        "-last_follow_up": Customer.last_follow_up_at.desc().nulls_last(),
        "created_at": Customer.created_at.asc(),
        "-created_at": Customer.created_at.desc(),
        "-updated_at": Customer.updated_at.desc(),
    },
    default_sort="-id",
)


def _owner_filter() -> int | None:
    raw = request.args.get("owner_id")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationError(_("owner_id 必须是整数"), fields={"owner_id": _("必须是整数")})
    return int(raw)


@api.route(bp, "/customers", permission="crm.customer.read", response=CustomerOut,
           listing=CUSTOMERS, query=LIST_QUERY, tags=TAGS)
def list_customers(ctx):  # noqa: ANN001, ANN201
    """List the customers the caller may see."""
    filters = {
        k: request.args.get(k) or None
        for k in ("q", "customer_type", "customer_level", "status", "tag", "industry")
    }
    stmt = queries.search_customers(ctx, owner_id=_owner_filter(), **filters)
    return CUSTOMERS.page(ctx, stmt.options(selectinload(Customer.owner)),
                          serialize=lambda c: _out(ctx, c), export=True)


@api.route(bp, "/customers", methods=["POST"], permission="crm.customer.create",
           body=CustomerCreate, response=CustomerOut, status=201, tags=TAGS)
def create_customer(ctx, body: CustomerCreate):  # noqa: ANN001, ANN201
    """Create a customer (owner defaults to the caller)."""
    return _out(ctx, customer_service.create_customer(ctx, body.model_dump(exclude_unset=True)))


@api.route(bp, "/customers/<customer_id>", permission="crm.customer.read",
           response=CustomerOut, tags=TAGS)
def get_customer(ctx, customer_id: str):  # noqa: ANN001, ANN201
    """One customer, by id or number (``CUS-000123``)."""
    return _out(ctx, queries.get_customer(ctx, customer_id))


@api.route(bp, "/customers/<customer_id>", methods=["PATCH"], permission="crm.customer.write",
           body=CustomerPatch, response=CustomerOut, tags=TAGS)
def update_customer(ctx, customer_id: str, body: CustomerPatch):  # noqa: ANN001, ANN201
    """Change the fields sent."""
    target = queries.get_customer(ctx, customer_id).id
    changes = body.model_dump(exclude_unset=True)
    return _out(ctx, customer_service.update_customer(ctx, target, changes))


# --- contacts and follow-ups ---------------------------------------------------------------


@api.route(bp, "/customers/<customer_id>/contacts", permission="crm.contact.read",
           response=ContactOut, many=True, tags=TAGS)
def list_contacts(ctx, customer_id: str):  # noqa: ANN001, ANN201
    """The customer's contacts."""
    customer = queries.get_customer(ctx, customer_id)
    hide = "phone" in queries.hidden_fields(ctx, customer)
    contacts = queries.list_contacts(ctx, customer.id)
    return [_contact_out(c, hide) for c in contacts]


@api.route(bp, "/customers/<customer_id>/contacts", methods=["POST"],
           permission="crm.contact.create", body=ContactIn, response=ContactOut, status=201,
           tags=TAGS)
def create_contact(ctx, customer_id: str, body: ContactIn):  # noqa: ANN001, ANN201
    """Add a contact to the customer."""
    customer = queries.get_customer(ctx, customer_id)
    return contact_service.add_contact(ctx, customer.id, body.model_dump(exclude_unset=True))


@api.route(bp, "/contacts/<int:contact_id>", methods=["PATCH"], permission="crm.contact.write",
           body=ContactIn, response=ContactOut, tags=TAGS)
def update_contact(ctx, contact_id: int, body: ContactIn):  # noqa: ANN001, ANN201
    """Change a contact."""
    return contact_service.update_contact(ctx, contact_id, body.model_dump(exclude_unset=True))


@api.route(bp, "/contacts/<int:contact_id>", methods=["DELETE"],
           permission="crm.contact.delete", status=204, tags=TAGS)
def delete_contact(ctx, contact_id: int):  # noqa: ANN001, ANN201
    """Delete a contact."""
    contact_service.delete_contact(ctx, contact_id)


@api.route(bp, "/customers/<customer_id>/follow-ups", permission="crm.follow_up.read",
           response=FollowUpOut, many=True, tags=TAGS)
def list_follow_ups(ctx, customer_id: str):  # noqa: ANN001, ANN201
    """The customer's follow-ups, newest first."""
    customer = queries.get_customer(ctx, customer_id)
    return queries.list_follow_ups(ctx, customer.id)


@api.route(bp, "/customers/<customer_id>/follow-ups", methods=["POST"],
           permission="crm.follow_up.create", body=FollowUpIn, response=FollowUpOut,
           status=201, tags=TAGS)
def create_follow_up(ctx, customer_id: str, body: FollowUpIn):  # noqa: ANN001, ANN201
    """Record a follow-up (moves the customer's last follow-up time)."""
    customer = queries.get_customer(ctx, customer_id)
    return follow_up_service.add_follow_up(ctx, customer.id, body.model_dump(exclude_unset=True))
