"""REST API for opportunities under ``/api/v1`` (seed 003's shapes)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Literal

from flask import Blueprint
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core import api
from modules.crm import opportunities as svc
from modules.crm.models.customer import Customer
from modules.crm.models.opportunity import Opportunity

bp = Blueprint("crm_opportunities_api", __name__, url_prefix=api.API_PREFIX)

Status = Literal["new", "contacted", "quoted", "negotiating", "won", "lost"]


class QuoteOut(api.ApiOut):
    id: int
    amount: api.Money
    valid_until: date | None
    is_current: bool
    created_at: datetime


class OpportunityOut(api.ApiOut):
    id: int
    number: str
    customer_id: int
    customer_name: str
    product_name: str
    quantity: int
    estimated_amount: api.Money
    status: Status
    source: str | None
    requirements: str | None
    owner_id: int | None
    lost_reason: str | None
    stage_reached: Status
    current_quote: QuoteOut | None
    followed_up_at: datetime | None
    won_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OpportunityIn(api.ApiIn):
    customer_id: int = Field(ge=1)
    product_name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1)
    estimated_amount: api.Money = Decimal("0")
    source: str | None = None
    requirements: str | None = None
    owner_id: int | None = None
    unowned: bool = Field(default=False, description="发布到销售群待认领（需分配权限）")


class OpportunityPatch(api.ApiIn):
    product_name: str | None = Field(default=None, min_length=1, max_length=200)
    quantity: int | None = Field(default=None, ge=1)
    estimated_amount: api.Money | None = None
    source: str | None = None
    requirements: str | None = None
    expected_close_date: date | None = None


class QuoteIn(api.ApiIn):
    amount: api.Money = Field(gt=0)
    valid_until: date | None = None
    note: str | None = Field(default=None, max_length=2000)


class FollowUpIn(api.ApiIn):
    content: str = Field(min_length=1, max_length=5000)
    channel: str = "phone"


class FollowUpOut(api.ApiOut):
    id: int
    opportunity_id: int
    customer_id: int
    user_id: int | None
    follow_up_at: datetime
    channel: str
    content: str


class StatusIn(api.ApiIn):
    status: Status
    reason: str | None = Field(default=None, max_length=2000)


def _out(opp: Opportunity, *, listed: bool = False) -> dict:
    """The answer's fields; ``listed``: the quote comes from the list's join."""
    quote = opp.listed_quote if listed else opp.current_quote
    return {
        "id": opp.id, "number": opp.number, "customer_id": opp.customer_id,
        "customer_name": opp.customer.customer_name, "product_name": opp.product_name,
        "quantity": opp.quantity, "estimated_amount": opp.estimated_amount,
        "status": opp.status, "source": opp.source, "requirements": opp.requirements,
        "owner_id": opp.owner_id, "lost_reason": opp.lost_reason,
        "stage_reached": opp.stage_reached, "current_quote": quote,
        "followed_up_at": opp.followed_up_at, "won_at": opp.won_at, "closed_at": opp.closed_at,
        "created_at": opp.created_at, "updated_at": opp.updated_at,
    }


OPPORTUNITIES = api.Listing(
    Opportunity,
    sort={"created_at": Opportunity.created_at, "estimated_amount": Opportunity.estimated_amount,
          "status": Opportunity.status},
    default_sort="-created_at",
    filters={"status": Opportunity.status, "owner_id": Opportunity.owner_id,
             "customer_id": Opportunity.customer_id},
    ranges={"estimated_amount": Opportunity.estimated_amount,
            "created_at": Opportunity.created_at},
    search=[Opportunity.product_name, Opportunity.requirements],
)


@api.route(bp, "/opportunities", permission="crm.opportunity.read", response=OpportunityOut,
           listing=OPPORTUNITIES, tags=["crm"])
def list_opportunities(ctx):  # noqa: ANN001, ANN201
    """List the opportunities the caller may see."""
    stmt = select(Opportunity).options(
        joinedload(Opportunity.customer).load_only(Customer.customer_name),
        joinedload(Opportunity.listed_quote))
    page = OPPORTUNITIES.page(ctx, stmt)
    page.items = [_out(o, listed=True) for o in page.items]
    return page


@api.route(bp, "/opportunities", methods=["POST"], permission="crm.opportunity.create",
           body=OpportunityIn, response=OpportunityOut, status=201, tags=["crm"])
def create_opportunity(ctx, body: OpportunityIn):  # noqa: ANN001, ANN201
    """Create an opportunity for a customer the caller may see."""
    return _out(svc.create_opportunity(ctx, body.model_dump()))


@api.route(bp, "/opportunities/<int:opportunity_id>", permission="crm.opportunity.read",
           response=OpportunityOut, tags=["crm"])
def get_opportunity(ctx, opportunity_id: int):  # noqa: ANN001, ANN201
    """One opportunity (404 when the caller may not see it)."""
    return _out(svc.get_opportunity(ctx, opportunity_id))


@api.route(bp, "/opportunities/<int:opportunity_id>/status", methods=["PATCH"],
           permission="crm.opportunity.write", body=StatusIn, response=OpportunityOut,
           tags=["crm"])
def change_status(ctx, opportunity_id: int, body: StatusIn):  # noqa: ANN001, ANN201
    """Move the opportunity to another status (``lost`` needs a ``reason``)."""
    return _out(svc.change_status(ctx, opportunity_id, body.status, body.reason))


@api.route(bp, "/opportunities/<int:opportunity_id>/claim", methods=["POST"],
           permission="crm.opportunity.claim", response=OpportunityOut, tags=["crm"])
def claim(ctx, opportunity_id: int):  # noqa: ANN001, ANN201
    """Claim an unowned opportunity (409 when someone was faster)."""
    return _out(svc.claim_opportunity(ctx, opportunity_id))


@api.route(bp, "/opportunities/<int:opportunity_id>", methods=["PATCH"],
           permission="crm.opportunity.write", body=OpportunityPatch, response=OpportunityOut,
           tags=["crm"])
def update_opportunity(ctx, opportunity_id: int, body: OpportunityPatch):  # noqa: ANN001, ANN201
    """Change the fields sent (the status changes through ``…/status``)."""
    return _out(svc.update_opportunity(ctx, opportunity_id, body.model_dump(exclude_unset=True)))


@api.route(bp, "/opportunities/<int:opportunity_id>/quotes", methods=["POST"],
           permission="crm.opportunity.write", body=QuoteIn, response=QuoteOut, status=201,
           tags=["crm"])
def add_quote(ctx, opportunity_id: int, body: QuoteIn):  # noqa: ANN001, ANN201
    """A new quote; it becomes the current one (a new or contacted opportunity → quoted)."""
    return svc.add_quote(ctx, opportunity_id, body.amount, body.valid_until, body.note)


@api.route(bp, "/opportunities/<int:opportunity_id>/follow-ups", methods=["POST"],
           permission="crm.opportunity.write", body=FollowUpIn, response=FollowUpOut,
           status=201, tags=["crm"])
def add_follow_up(ctx, opportunity_id: int, body: FollowUpIn):  # noqa: ANN001, ANN201
    """Record a follow-up on the opportunity (a new one → contacted)."""
    return svc.follow_up(ctx, opportunity_id, body.content, body.channel)
