"""REST API for opportunities under ``/api/v1``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Literal

from flask import Blueprint
from pydantic import Field
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import select
from sqlalchemy.orm import aliased

from core import api
from modules.crm import queries
from modules.crm.models.customer import Customer
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.models.opportunity import opportunity_number
from modules.crm.services import opportunities as svc

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
    amount: api.PositiveMoney
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


# What an opportunity's answer holds besides its number, customer name and current quote.
_FIELDS = ("id", "customer_id", "product_name", "quantity", "estimated_amount", "status",
           "source", "requirements", "owner_id", "lost_reason", "stage_reached",
           "followed_up_at", "won_at", "closed_at", "created_at", "updated_at")


def _out(opp: Opportunity) -> dict:
    """The answer for one opportunity (an ORM object)."""
    return {**{name: getattr(opp, name) for name in _FIELDS}, "number": opp.number,
            "customer_name": opp.customer.customer_name, "current_quote": opp.current_quote}


_CUSTOMER, _QUOTE = aliased(Customer), aliased(Quote)  # made once: statements stay cached


def _listed(stmt: Select) -> Select:
    """The list's rows as plain columns: the opportunity's, its customer's name and its
    current quote's, in one statement and without building objects."""
    return (stmt.with_only_columns(
        *Opportunity.__table__.c, _CUSTOMER.customer_name, _QUOTE.id.label("quote_id"),
        _QUOTE.amount.label("quote_amount"), _QUOTE.valid_until.label("quote_valid_until"),
        _QUOTE.created_at.label("quote_created_at"), maintain_column_froms=True)
        .join_from(Opportunity, _CUSTOMER, _CUSTOMER.id == Opportunity.customer_id)
        .outerjoin_from(Opportunity, _QUOTE,
                        and_(_QUOTE.opportunity_id == Opportunity.id, _QUOTE.is_current)))


_ANSWER = tuple(OpportunityOut.model_fields)  # an answer's fields, in the model's order
# Where the row holds what the computed fields start from: the number from the id, the
# current quote from the quote's id (None: no current quote).
_FROM = {"number": "id", "current_quote": "quote_id"}


def _listed_writer(fields: tuple[str, ...]) -> Callable[[Row], dict]:
    """The answer for a row of :func:`_listed` (whose columns are ``fields``), as
    :func:`_out` gives it through the model. Values are taken by positions found once per
    page: by name (``row._asdict()``), a page of 50 took three times as long."""
    values = itemgetter(*(fields.index(_FROM.get(name, name)) for name in _ANSWER))
    quote = itemgetter(*(fields.index(f"quote_{name}")
                         for name in ("amount", "valid_until", "created_at")))

    def answer(row: Row) -> dict:
        written = dict(zip(_ANSWER, values(row), strict=True))
        written["number"] = opportunity_number(written["number"])
        quote_id = written["current_quote"]
        if quote_id is not None:
            amount, valid_until, created_at = quote(row)
            written["current_quote"] = {"id": quote_id, "amount": amount,
                                        "valid_until": valid_until, "is_current": True,
                                        "created_at": created_at}
        return written

    return answer


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
    page = OPPORTUNITIES.page(ctx, select(Opportunity), row_select=_listed)
    if page.items:
        write = _listed_writer(page.items[0]._fields)
        page.items = [write(row) for row in page.items]
    page.shaped = True  # as OpportunityOut gives them (test_opportunities_api.py)
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
    return _out(queries.get_opportunity(ctx, opportunity_id))


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
