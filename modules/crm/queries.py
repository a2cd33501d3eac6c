"""Reads of crm: customers, contacts, follow-ups, opportunities, handovers and the sales
analytics, always through the record rules (``ctx.scoped``).

Every customer read goes through :func:`customer_select` (sales see their own customers
and the pool, managers their team's, admins all); a write additionally needs the record
to be the actor's (or the team's) and not in the pool (:func:`check_writable`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import hooks
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.security.models import User
from core.security.ownership import assignable_ids
from core.security.ownership import unrestricted
from core.services import ServiceContext
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.models.customer import parse_customer_number
from modules.crm.models.handover import Handover
from modules.crm.models.opportunity import NUMBER_PREFIX
from modules.crm.models.opportunity import STAGES
from modules.crm.models.opportunity import STATUSES
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.validation import normalize_phone

# --- customers ---------------------------------------------------------------------------


CUSTOMER_NOT_FOUND = _l("客户不存在或无权查看")


def customer_select(ctx: ServiceContext, *columns: Any) -> Select:
    """``SELECT`` customers (or ``columns``) the actor may see."""
    ctx.require("crm.customer.read")
    stmt = select(*columns) if columns else select(Customer)
    return ctx.scoped(stmt, Customer)


CHOICES = 500  # customers a form's select offers by name


def customer_choices(ctx: ServiceContext, chosen: Any = None) -> list[tuple[int, str]]:
    """A form's customers: the first ``CHOICES`` by name among those the actor sees, and
    the one already chosen (a form opened from a customer's page, or posted back) when he
    sees it, so a customer past the first names can still be the form's."""
    stmt = ctx.scoped(select(Customer.id, Customer.customer_name), Customer)
    rows = [(cid, name) for cid, name in db.session.execute(
        stmt.order_by(Customer.customer_name, Customer.id).limit(CHOICES))]
    wanted = int(chosen) if str(chosen or "").strip().isdigit() else None
    if wanted is not None and wanted < 2**31 and all(cid != wanted for cid, _n in rows):
        extra = db.session.execute(stmt.where(Customer.id == wanted)).first()
        if extra is not None:
            rows.insert(0, (extra[0], extra[1]))
    return rows


NAME_CHUNK = 1000  # names looked up per query


@dataclass
class CustomersByName:
    """Customers the actor sees, found by their exact names (imports: "客户名称" columns).
    ``ids``: name → the ids of the customers of that name; ``rows``: id → the row (its id,
    name and the extra columns asked for)."""

    ids: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    rows: dict[int, Any] = dataclasses.field(default_factory=dict)

    def problem(self, name: Any) -> str | None:
        """Why ``name`` names no single customer (in the reader's language), or None."""
        matches = self.ids.get(str(name), [])
        if not matches:
            return _("找不到客户“%(name)s”", name=name)
        if len(matches) > 1:
            return _("有多个客户名为“%(name)s”", name=name)
        return None

    def only(self, name: Any) -> int:
        """The id of the one customer named ``name``, else a :class:`ValidationError` on
        the ``customer_name`` field."""
        message = self.problem(name)
        if message is not None:
            raise ValidationError(message, fields={"customer_name": message})
        return self.ids[str(name)][0]


def customers_by_name(ctx: ServiceContext, names: Iterable[Any],
                      *columns: Any) -> CustomersByName:
    """:class:`CustomersByName` for ``names``, through the record rules: a customer the
    actor may not see is not found (one query per ``NAME_CHUNK`` names)."""
    wanted = sorted({str(n) for n in names if n is not None and str(n)})
    found = CustomersByName()
    for start in range(0, len(wanted), NAME_CHUNK):
        part = wanted[start:start + NAME_CHUNK]
        for row in db.session.execute(ctx.scoped(
                select(Customer.id, Customer.customer_name, *columns)
                .where(Customer.customer_name.in_(part)), Customer)):
            found.rows[row.id] = row
            found.ids.setdefault(row.customer_name, []).append(row.id)
    return found


def can_see(ctx: ServiceContext, customer_id: int) -> bool:
    """Whether the actor may see the customer (permission and record rules)."""
    if not ctx.can("crm.customer.read"):
        return False
    stmt = customer_select(ctx, Customer.id).where(Customer.id == customer_id)
    return db.session.scalar(stmt) is not None


def get_customer(
    ctx: ServiceContext, customer_id: int | str, *, for_write: bool = False
) -> Customer:
    """The customer, if the actor may see it (and change it, with ``for_write``); else 404/403.

    ``customer_id`` may also be a customer number (``CUS-000123``).
    """
    if isinstance(customer_id, str):
        parsed = parse_customer_number(customer_id)
        if parsed is None and not (customer_id.strip().isascii() and customer_id.strip().isdigit()):
            raise NotFoundError(str(CUSTOMER_NOT_FOUND))
        customer_id = parsed if parsed is not None else int(customer_id)
    if not 0 < customer_id < 2**31:
        raise NotFoundError(str(CUSTOMER_NOT_FOUND))
    customer = db.session.scalar(customer_select(ctx).where(Customer.id == customer_id))
    if customer is None:
        raise NotFoundError(str(CUSTOMER_NOT_FOUND))
    if for_write:
        check_writable(ctx, customer)
    return customer


def find_customer(ctx: ServiceContext, ref: str) -> Customer:
    """A visible customer by number (``CUS-000123``), id or phone (any format)."""
    ref = (ref or "").strip()
    plain_number = ref.isascii() and ref.isdigit() and len(ref) < 11
    if parse_customer_number(ref) is not None or plain_number:
        return get_customer(ctx, ref)
    phone = normalize_phone(ref)
    customer = db.session.scalar(customer_select(ctx).where(
        unless_hidden(ctx, "phone", Customer.phone == phone)))
    if customer is None:
        raise NotFoundError(str(CUSTOMER_NOT_FOUND))
    return customer


def search_customers(
    ctx: ServiceContext,
    *,
    q: str | None = None,
    customer_type: str | None = None,
    customer_level: str | None = None,
    status: str | None = None,
    owner_id: int | None = None,
    tag: str | None = None,
    industry: str | None = None,
    mine: bool = False,
) -> Select:
    """A filtered ``SELECT`` of the customers the actor sees (lists, counts, exports, API,
    bot), scoped by the record rules (a list view or an API listing given it does not apply
    them again)."""
    stmt = customer_select(ctx)
    if q and q.strip():
        text = q.strip()
        like = f"%{text}%"
        clauses = [Customer.customer_name.ilike(like), Customer.tax_id.ilike(like)]
        phone = normalize_phone(text)
        if phone.isascii() and phone.isdigit():
            clauses.append(unless_hidden(ctx, "phone", Customer.phone.like(f"%{phone}%")))
        number = parse_customer_number(text)
        if number is not None:
            clauses.append(Customer.id == number)
        stmt = stmt.where(or_(*clauses))
    if customer_type:
        stmt = stmt.where(Customer.customer_type == customer_type)
    if customer_level:
        stmt = stmt.where(Customer.customer_level == customer_level)
    if status:
        stmt = stmt.where(Customer.status == status)
    if owner_id:
        stmt = stmt.where(Customer.owner_id == owner_id)
    if mine and ctx.actor is not None:
        stmt = stmt.where(Customer.owner_id == ctx.actor.id)
    if industry:
        stmt = stmt.where(unless_hidden(ctx, "industry", Customer.industry == industry))
    if tag and tag.strip():
        t = tag.strip()
        stmt = stmt.where(
            or_(
                Customer.tags == t,
                Customer.tags.like(f"{t},%"),
                Customer.tags.like(f"%,{t}"),
                Customer.tags.like(f"%,{t},%"),
            )
        )
    return stmt


def count_customers(ctx: ServiceContext, **filters: Any) -> int:
    """How many customers the actor sees (with the filters of :func:`search_customers`)."""
    stmt = search_customers(ctx, **filters)
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def _label(value: Any) -> str:
    """A label of the source language (a status, a level) in the reader's language; "" and
    None stay empty (``gettext("")`` answers the catalog's header)."""
    return gettext(value) if value else ""


# Labels and choice values in the reader's language (translated at export time).
EXPORT_COLUMNS: list[tuple[str, str, Callable[[Customer], Any]]] = [
    ("number", "客户编号", lambda c: c.number),
    ("customer_name", "客户名称", lambda c: c.customer_name),
    ("customer_type", "客户类型", lambda c: _label(c.type_label)),
    ("phone", "手机号", lambda c: c.phone or ""),
    ("tax_id", "统一社会信用代码", lambda c: c.tax_id or ""),
    ("industry", "所属行业", lambda c: c.industry or ""),
    ("customer_level", "客户分级", lambda c: _label(c.level_label)),
    ("tags", "标签", lambda c: c.tags or ""),
    ("address", "地址", lambda c: c.address or ""),
    ("source", "来源渠道", lambda c: _label(c.source_label)),
    ("owner", "负责人", lambda c: c.owner.name if c.owner else ""),
    ("status", "状态", lambda c: _label(c.status_label)),
    ("last_follow_up_at", "最后跟进时间", lambda c: c.last_follow_up_at),
]


def export_customers(ctx: ServiceContext, **filters: Any) -> tuple[list[str], list[list[Any]]]:
    """Header labels and rows of the customers the actor sees (needs ``crm.customer.export``)."""
    ctx.require("crm.customer.export")
    stmt = search_customers(ctx, **filters).order_by(Customer.id)
    getters = [masked(ctx, key, fn) for key, _label, fn in EXPORT_COLUMNS]
    rows = [[get(c) for get in getters] for c in db.session.scalars(stmt)]
    return [label for _k, label, _f in EXPORT_COLUMNS], rows


def check_writable(ctx: ServiceContext, customer: Customer) -> None:
    """Refuse a change of ``customer`` (one the actor sees: read through the record rules,
    so sales hold their own customers and managers their team's) while it is in the pool:
    it is claimed or assigned first. Admins and system contexts change any customer."""
    if unrestricted(ctx.actor):
        return
    if customer.status == "in_pool":
        raise PermissionDenied(gettext("公海客户需先领取或分配后才能修改"))


def writable(ctx: ServiceContext, customer: Customer) -> bool:
    if not ctx.can("crm.customer.write"):
        return False
    try:
        check_writable(ctx, customer)
    except PermissionDenied:
        return False
    return True


def assignable_owners(ctx: ServiceContext) -> list[User]:
    """Users the actor may make a customer's owner: self; team members; anyone for admins."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name, User.id)
    ids = assignable_ids(ctx, "crm.customer.assign")
    if ids is not None:
        stmt = stmt.where(User.id.in_(ids))
    return list(db.session.scalars(stmt))


def list_contacts(ctx: ServiceContext, customer_id: int) -> list[Contact]:
    ctx.require("crm.contact.read")
    return list(get_customer(ctx, customer_id).contacts)


def get_contact(ctx: ServiceContext, contact_id: int, *, for_write: bool = False) -> Contact:
    ctx.require("crm.contact.read")
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(gettext("联系人不存在或无权查看"))
    try:
        get_customer(ctx, contact.customer_id, for_write=for_write)
    except NotFoundError:
        raise NotFoundError(gettext("联系人不存在或无权查看")) from None
    return contact


def list_follow_ups(ctx: ServiceContext, customer_id: int) -> list[FollowUp]:
    ctx.require("crm.follow_up.read")
    return list(get_customer(ctx, customer_id).follow_ups)


HIDDEN_MARK = "（已隐藏）"


def hidden_fields(ctx: ServiceContext, customer: Customer) -> frozenset[str]:
    """Fields of ``customer`` the actor must not see, as installed modules say through
    ``customer_hidden_fields`` (the pool hides some from claimers). ``phone`` also hides
    the contacts' phones, e-mails and WeChat ids."""
    answers = hooks.call("customer_hidden_fields", customer=customer, ctx=ctx) or []
    return frozenset(name for names in answers for name in names or ())


def hidden_where(ctx: ServiceContext, field: str) -> Any:
    """For which customers ``field`` is hidden from the actor, as a SQL condition that
    installed modules give through ``customer_hidden_where``; None where it never is."""
    answers = hooks.call("customer_hidden_where", field=field, ctx=ctx) or []
    hidden = [c for c in answers if c is not None]
    return or_(*hidden) if hidden else None


def unless_hidden(ctx: ServiceContext, field: str, condition: Any) -> Any:
    """``condition`` (a match on ``field``) narrowed to the customers whose ``field`` the
    actor may see."""
    hidden = hidden_where(ctx, field)
    return condition if hidden is None else and_(condition, not_(hidden))


def masked(ctx: ServiceContext, key: str, getter: Callable[[Customer], Any]
           ) -> Callable[[Customer], Any]:
    """``getter`` that answers :data:`HIDDEN_MARK` (in the actor's language) where ``key``
    is hidden from the actor."""
    mark = gettext(HIDDEN_MARK)
    return lambda c: mark if key in hidden_fields(ctx, c) else getter(c)


def customer_360(ctx: ServiceContext, customer_id: int) -> dict[str, Any]:
    """Everything about a visible customer: itself, contacts, follow-ups (the sections other
    modules contribute are rendered by the page)."""
    customer = get_customer(ctx, customer_id)
    return {
        "customer": customer,
        "hidden": hidden_fields(ctx, customer),
        "contacts": list(customer.contacts) if ctx.can("crm.contact.read") else [],
        "follow_ups": list(customer.follow_ups) if ctx.can("crm.follow_up.read") else [],
        "can_write": writable(ctx, customer),
    }


# --- opportunities -----------------------------------------------------------------------


OPPORTUNITY_NOT_FOUND = _l("商机不存在或无权查看")


def opportunity_select(ctx: ServiceContext) -> Select:
    ctx.require("crm.opportunity.read")
    return ctx.scoped(select(Opportunity), Opportunity)


def parse_number(ref: str | int) -> int | None:
    """``OPP-1023`` / ``opp1023`` / ``1023`` → 1023."""
    text = str(ref).strip().upper().replace(NUMBER_PREFIX, "").replace("OPP", "")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**31 else None


def get_opportunity(ctx: ServiceContext, ref: str | int, *,
                    for_update: bool = False) -> Opportunity:
    """A visible opportunity (404 otherwise, never saying whether it exists). With
    ``for_update`` the row is locked (PostgreSQL) so concurrent changes queue up."""
    opp_id = parse_number(ref)
    if opp_id is None:
        raise NotFoundError(str(OPPORTUNITY_NOT_FOUND))
    stmt = opportunity_select(ctx).where(Opportunity.id == opp_id)
    if for_update:
        stmt = stmt.with_for_update(of=Opportunity).execution_options(populate_existing=True)
    opp = db.session.scalar(stmt)
    if opp is None:
        raise NotFoundError(str(OPPORTUNITY_NOT_FOUND))
    return opp


def writable_opportunity(ctx: ServiceContext, ref: str | int) -> Opportunity:
    """A visible opportunity the actor may change, locked for the transaction."""
    ctx.require("crm.opportunity.write")
    opp = get_opportunity(ctx, ref, for_update=True)
    if opp.owner_id is None and not ctx.can("crm.opportunity.assign"):
        raise UserError(_("该商机尚未认领，请先认领（#认领）"))
    return opp


def customer_history(ctx: ServiceContext, phone: str) -> tuple[Customer, list[Opportunity]]:
    """A visible customer by phone and its opportunities the actor may see."""
    customer = find_customer(ctx, phone)
    opps = list(db.session.scalars(opportunity_select(ctx).where(
        Opportunity.customer_id == customer.id).order_by(Opportunity.id.desc()).limit(10)))
    return customer, opps


# --- handovers ---------------------------------------------------------------------------


def get_handover(ctx: ServiceContext, handover_id: int) -> Handover:
    """A handover the actor may see (its record rule: admins all, a manager his team's
    members', others their own); any other answers 404 like a missing one."""
    ctx.require("crm.handover.read")
    handover = db.session.scalar(
        ctx.scoped(select(Handover).where(Handover.id == handover_id), Handover))
    if handover is None or not (_sees_all_handovers(ctx) or ctx.actor_id in (
            handover.initiator_id, handover.to_user_id, handover.from_user_id)):
        raise NotFoundError(_("交接单不存在"))
    return handover


def _sees_all_handovers(ctx: ServiceContext) -> bool:
    """Reviewers and admins see every handover their record rules allow (a manager: his
    team's); others only those they take part in."""
    return unrestricted(ctx.actor) or ctx.can("crm.handover.review")


def list_handovers(ctx: ServiceContext) -> list[Handover]:
    ctx.require("crm.handover.read")
    stmt = (
        select(Handover)
        .options(
            selectinload(Handover.customers),
            selectinload(Handover.from_user),
            selectinload(Handover.to_user),
        )
        .order_by(Handover.id.desc())
        .limit(200)
    )
    if not _sees_all_handovers(ctx):
        me = ctx.actor_id
        stmt = stmt.where(or_(Handover.initiator_id == me, Handover.to_user_id == me,
                              Handover.from_user_id == me))
    return list(db.session.scalars(ctx.scoped(stmt, Handover)))


def who_may_act(handover: Handover) -> str:
    """Who acts next, for the detail page."""
    if handover.stage == "preparation":
        return "发起人（可由原负责人完善清单）"
    if handover.stage == "review":
        return "发起人以外的经理或管理员"
    if handover.stage == "confirmation":
        return handover.to_user.name if handover.to_user else "接收人"
    return "—"


# --- sales analytics ---------------------------------------------------------------------


SHANGHAI = ZoneInfo("Asia/Shanghai")


CENT = Decimal("0.01")


def _visible(ctx: ServiceContext, *where: Any) -> Any:
    """The opportunities the actor sees (a salesperson his own, a manager his team's: the
    record rules decide, so everyone who reads opportunities gets his own figures)."""
    ctx.require("crm.opportunity.read")
    return ctx.scoped(select(Opportunity).where(*where), Opportunity).subquery()


def funnel(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """Of the opportunities created in ``[start, end)``: how many reached each stage (the
    furthest stage reached counts for every stage before it, also when it was lost later),
    as a share of all and of the previous stage; then how many were lost."""
    opp = _visible(ctx, Opportunity.created_at >= start, Opportunity.created_at < end)
    stmt = select(
        opp.c.stage_reached, func.count(), func.sum(case((opp.c.status == "lost", 1), else_=0))
    ).group_by(opp.c.stage_reached)
    reached: dict[str, int] = {}
    lost = 0
    for stage, count, n_lost in db.session.execute(stmt):
        reached[stage] = count
        lost += int(n_lost or 0)
    total = sum(reached.values())
    rows, remaining, previous = [], total, total
    for stage in STAGES:
        rows.append({"status": stage, "label": STATUSES[stage], "count": remaining,
                     "rate": remaining / total if total else 0.0,
                     "step": remaining / previous if previous else 0.0})
        previous = remaining
        remaining -= reached.get(stage, 0)
    rows.append({"status": "lost", "label": STATUSES["lost"], "count": lost,
                 "rate": lost / total if total else 0.0, "step": None})
    return rows


def _cycle_days(opp: Any) -> Any:
    """Days from creation to won, as SQL for the current dialect."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", opp.c.won_at - opp.c.created_at) / 86400.0
    return func.julianday(opp.c.won_at) - func.julianday(opp.c.created_at)


def _deal_amount(opp: Any) -> Any:
    """What a won opportunity brought: its current quote, else the estimate."""
    return func.coalesce(Quote.amount, opp.c.estimated_amount)


def _with_quote(opp: Any) -> Any:
    return opp.outerjoin(Quote, and_(Quote.opportunity_id == opp.c.id, Quote.is_current))


def performance(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """Per owner, for the period ``[start, end)``: opportunities created, won and lost (by
    their closing time), won amount, win rate (won / closed) and average cycle in days
    (created → won). Best won amount first."""
    in_period = lambda col: and_(col >= start, col < end)  # noqa: E731
    opp = _visible(ctx, or_(in_period(Opportunity.created_at),
                            in_period(Opportunity.closed_at)))
    won = and_(opp.c.status == "won", in_period(opp.c.won_at))
    lost = and_(opp.c.status == "lost", in_period(opp.c.closed_at))
    stmt = (
        select(
            opp.c.owner_id,
            func.sum(case((in_period(opp.c.created_at), 1), else_=0)),
            func.sum(case((won, 1), else_=0)),
            func.sum(case((lost, 1), else_=0)),
            func.sum(case((won, _deal_amount(opp)), else_=0)),
            func.avg(case((won, _cycle_days(opp)))),
        )
        .select_from(_with_quote(opp))
        .group_by(opp.c.owner_id)
    )
    rows = []
    for owner_id, created, n_won, n_lost, amount, cycle in db.session.execute(stmt).all():
        n_won, n_lost = int(n_won or 0), int(n_lost or 0)
        closed = n_won + n_lost
        rows.append({"owner_id": owner_id, "created": int(created or 0), "won": n_won,
                     "lost": n_lost, "won_amount": Decimal(str(amount or 0)).quantize(CENT),
                     "win_rate": n_won / closed if closed else None,
                     "avg_cycle_days": round(float(cycle), 1) if cycle is not None else None})
    users = db.session.scalars(select(User).where(
        User.id.in_([r["owner_id"] for r in rows if r["owner_id"]])))
    names = {u.id: u.name for u in users}
    for row in rows:
        row["owner"] = names.get(row["owner_id"]) or gettext("待认领")
    return sorted(rows, key=lambda r: (r["won_amount"], r["won"]), reverse=True)


def by_month(ctx: ServiceContext, start: datetime, end: datetime) -> list[dict]:
    """Won count and amount per month (Asia/Shanghai) of the period, months without deals
    included."""
    opp = _visible(ctx, Opportunity.status == "won", Opportunity.won_at >= start,
                   Opportunity.won_at < end)
    stmt = select(opp.c.won_at, _deal_amount(opp)).select_from(_with_quote(opp))
    months: dict[str, dict] = {}
    month = start.astimezone(SHANGHAI).date().replace(day=1)
    last = (end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    while month <= last:
        key = month.strftime("%Y-%m")
        months[key] = {"month": key, "won": 0, "won_amount": Decimal("0.00")}
        month = (month + timedelta(days=32)).replace(day=1)
    for won_at, amount in db.session.execute(stmt):
        key = won_at.astimezone(SHANGHAI).strftime("%Y-%m")
        if key in months:
            months[key]["won"] += 1
            months[key]["won_amount"] += Decimal(str(amount))
    return list(months.values())
