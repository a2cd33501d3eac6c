"""crm's cards on the home workspace (工作台) and its global searchers.

Sales: my follow-ups due today (and overdue), handovers waiting for my confirmation and
my open opportunities (count, ¥ sum, won this month). Managers: the team's figures and
the handovers waiting for their review. Every figure is read through ``ctx.scoped`` (the
record rules) and links to the list filtered the same way.

Searchers: customers by name, phone (partial), number (``CUS-000123``) or tax id;
opportunities by number (``OPP-1023``) or product.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from core.extensions import db
from core.registration import CardContent
from core.registration import Kpi
from core.registration import Searcher
from core.registration import SearchHit
from core.registration import TodoItem
from core.registration import WorkspaceCard
from core.services import ServiceContext
from core.web.templating import money
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.models.customer import customer_number
from modules.crm.models.handover import Handover
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import STATUSES
from modules.crm.models.opportunity import Opportunity

SHOWN = 5  # to-do lines on a card; the rest behind "more"


def local_today(ctx: ServiceContext) -> date:
    """Today in the display time zone (Beijing), from ``ctx.now``."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return ctx.now.astimezone(zone).date()


def month_start(ctx: ServiceContext) -> datetime:
    """The first moment of this month (Beijing), as an aware datetime."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    today = local_today(ctx)
    return datetime.combine(today.replace(day=1), time.min, zone)


# --------------------------------------------------------------------- follow-ups due
def follow_ups_due(ctx: ServiceContext, *, owner_only: bool = True) -> Any:
    """``SELECT`` of the customers whose latest follow-up asks for the next one today or
    earlier: the follow-up rows (one per customer: the latest, the one whose time is the
    customer's last follow-up time), visible to the actor, of customers he owns."""
    today = local_today(ctx)
    stmt = (select(FollowUp, Customer)
            .join(Customer, Customer.id == FollowUp.customer_id)
            .where(FollowUp.next_follow_up_date.is_not(None),
                   FollowUp.next_follow_up_date <= today,
                   FollowUp.follow_up_at >= Customer.last_follow_up_at,
                   Customer.status != "in_pool"))
    if owner_only:
        stmt = stmt.where(Customer.owner_id == ctx.actor_id)
    return ctx.scoped(stmt, Customer)


def due_customer_ids(ctx: ServiceContext) -> Any:
    """The ids of :func:`follow_ups_due` (for the customer list's 待跟进 filter)."""
    return follow_ups_due(ctx).with_only_columns(Customer.id)


def _due_badge(today: date, due: date) -> str:
    if due >= today:
        return _("今天")
    return _("逾期 %(days)s 天", days=(today - due).days)


def follow_ups_card(ctx: ServiceContext) -> CardContent:
    today = local_today(ctx)
    stmt = follow_ups_due(ctx)
    total = db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    rows = db.session.execute(stmt.order_by(FollowUp.next_follow_up_date, Customer.id)
                              .limit(SHOWN)).all()
    items = tuple(
        TodoItem(title=customer.customer_name,
                 url=url_for("crm_customers.detail", customer_id=customer.id),
                 detail=(follow.content or "")[:40],
                 badge=_due_badge(today, follow.next_follow_up_date))
        for follow, customer in rows)
    return CardContent(items=items, total=total,
                       more_url=url_for("crm_customers.index", follow="due"),
                       empty_text=_("今天没有待跟进的客户。"))


# ------------------------------------------------------------------------ handovers
def handovers_to_review(ctx: ServiceContext) -> Any:
    """Handovers in review that the actor may review (not his own)."""
    stmt = select(Handover).where(Handover.stage == "review")
    if ctx.actor is not None:
        stmt = stmt.where(or_(Handover.initiator_id.is_(None),
                              Handover.initiator_id != ctx.actor_id))
    return stmt


def handovers_to_confirm(ctx: ServiceContext) -> Any:
    """Handovers waiting for the actor, their receiver, to confirm."""
    return select(Handover).where(Handover.stage == "confirmation",
                                  Handover.to_user_id == ctx.actor_id)


def _handover_card(ctx: ServiceContext, stmt: Any, stage: str, empty: str) -> CardContent:
    total = db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    rows = db.session.scalars(stmt.order_by(Handover.id.desc()).limit(SHOWN)).all()
    items = tuple(
        TodoItem(title=_("交接单 #%(id)s", id=h.id),
                 url=url_for("crm_handover.detail", id=h.id),
                 detail=_("%(from)s → %(to)s，%(n)s 个客户",
                          **{"from": h.from_user.name if h.from_user else "—",
                             "to": h.to_user.name if h.to_user else "—",
                             "n": len(h.customers)}))
        for h in rows)
    return CardContent(items=items, total=total,
                       more_url=url_for("crm_handover.index", stage=stage),
                       empty_text=empty)


def review_card(ctx: ServiceContext) -> CardContent:
    return _handover_card(ctx, handovers_to_review(ctx), "review", _("没有待审核的交接单。"))


def confirm_card(ctx: ServiceContext) -> CardContent | None:
    stmt = handovers_to_confirm(ctx)
    if not db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)):
        return None  # a rare to-do: no empty card for it
    return _handover_card(ctx, stmt, "confirmation", "")


# ---------------------------------------------------------------------- opportunities
def opportunity_figures(ctx: ServiceContext, *, mine: bool) -> dict[str, Any]:
    """Open opportunities (count, ¥ sum of the estimated amount) and those won this month
    (count, ¥ sum of the won quote, else the estimate), through the record rules; ``mine``
    keeps the actor's own, else every owned one he sees (a manager: his team's)."""
    from modules.crm.models.opportunity import Quote

    base = select(Opportunity)
    base = base.where(Opportunity.owner_id == ctx.actor_id) if mine else base.where(
        Opportunity.owner_id.is_not(None))
    scoped = ctx.scoped(base, Opportunity)
    open_count, open_sum = db.session.execute(
        scoped.where(Opportunity.status.in_(OPEN_STATUSES)).with_only_columns(
            func.count(), func.coalesce(func.sum(Opportunity.estimated_amount), 0))
        .order_by(None)).one()
    quoted = (select(Quote.amount).where(Quote.opportunity_id == Opportunity.id,
                                         Quote.is_current.is_(True))
              .limit(1).scalar_subquery())
    won_count, won_sum = db.session.execute(
        scoped.where(Opportunity.status == "won", Opportunity.won_at >= month_start(ctx))
        .with_only_columns(func.count(), func.coalesce(
            func.sum(func.coalesce(quoted, Opportunity.estimated_amount)), 0))
        .order_by(None)).one()
    return {"open_count": open_count, "open_sum": Decimal(open_sum or 0),
            "won_count": won_count, "won_sum": Decimal(won_sum or 0)}


def money_short(value: Decimal) -> str:
    """A KPI's amount: ``¥1,901.30万`` from 10万 on (as Chinese back-offices write it; the
    list behind the KPI has the exact figure), else ``¥9,800.00``."""
    from flask_babel import get_locale

    if abs(value) >= 100000 and str(get_locale() or "zh").startswith("zh"):
        return f"¥{value / 10000:,.2f}万"
    return money(value)


def _figures_kpis(ctx: ServiceContext, figures: dict[str, Any],
                  owner_id: int | None) -> tuple[Kpi, ...]:
    owner = {"owner_id": owner_id} if owner_id is not None else {}
    board = url_for("crm_opportunities.board", **owner)
    won = url_for("crm_opportunities.index", status="won",
                  won_from=month_start(ctx).date().isoformat(), **owner)
    return (
        Kpi(_("进行中的商机"), str(figures["open_count"]), board),
        Kpi(_("进行中金额"), money_short(figures["open_sum"]), board),
        Kpi(_("本月成交"), str(figures["won_count"]), won, hint=_("本月")),
        Kpi(_("本月成交额"), money_short(figures["won_sum"]), won, hint=_("本月")),
    )


def my_opportunities_card(ctx: ServiceContext) -> CardContent:
    return CardContent(kpis=_figures_kpis(ctx, opportunity_figures(ctx, mine=True),
                                          ctx.actor_id))


def team_card(ctx: ServiceContext) -> CardContent:
    figures = opportunity_figures(ctx, mine=False)
    kpis = _figures_kpis(ctx, figures, None)
    start = month_start(ctx)
    new_customers = db.session.scalar(
        ctx.scoped(select(func.count()).select_from(Customer)
                   .where(Customer.created_at >= start, Customer.status != "in_pool"),
                   Customer)) or 0
    unclaimed = db.session.scalar(
        ctx.scoped(select(func.count()).select_from(Opportunity).where(
            Opportunity.owner_id.is_(None), Opportunity.status.in_(OPEN_STATUSES)),
            Opportunity)) or 0
    kpis += (Kpi(_("本月新客户"), str(new_customers),
                 url_for("crm_customers.index", created_from=start.date().isoformat()),
                 hint=_("本月")),
             Kpi(_("待认领商机"), str(unclaimed),
                 url_for("crm_opportunities.index", unclaimed="1")))
    return CardContent(kpis=kpis)


def _is_manager(ctx: ServiceContext) -> bool:
    return ctx.can("crm.opportunity.assign")


def by_role(permission: str, compute: Any) -> Any:
    """``compute`` for those whose roles grant ``permission``: an administrator's blanket
    rights do not make him a salesperson (his home keeps its own cards and hints)."""
    from core.security.permissions import granted_permissions

    def card(ctx: ServiceContext) -> CardContent | None:
        if ctx.actor is None or permission not in granted_permissions(ctx.actor):
            return None
        return compute(ctx)

    return card


def workspace_cards() -> list[WorkspaceCard]:
    def mine(ctx: ServiceContext) -> CardContent | None:
        if _is_manager(ctx) and not _owns_any(ctx):
            return None  # a manager owning none: the team card says it all
        return my_opportunities_card(ctx)

    cards = [
        ("crm.my_opportunities", _l("我的商机"), mine, "kpi", "crm.opportunity.read", 10),
        ("crm.team", _l("团队业绩"), team_card, "kpi", "crm.opportunity.assign", 20),
        ("crm.follow_ups_due", _l("今日待跟进"), follow_ups_card, "todo", "crm.follow_up.read",
         10),
        ("crm.handovers_to_review", _l("待审核的交接"), review_card, "todo",
         "crm.handover.review", 30),
        ("crm.handovers_to_confirm", _l("待我确认的交接"), confirm_card, "todo",
         "crm.handover.read", 31),
    ]
    return [WorkspaceCard(cid, title, by_role(perm, compute), kind=kind, permission=perm,
                          sequence=seq) for cid, title, compute, kind, perm, seq in cards]


def _owns_any(ctx: ServiceContext) -> bool:
    return db.session.scalar(select(Opportunity.id).where(
        Opportunity.owner_id == ctx.actor_id).limit(1)) is not None


# --------------------------------------------------------------------------- search
def search_customers(ctx: ServiceContext, term: str, limit: int) -> list[SearchHit]:
    """Customers by name, phone (partial), number or tax id, as the list's search finds
    them (record rules, and phones hidden from the actor are not matched)."""
    from modules.crm import queries

    stmt = queries.search_customers(ctx, q=term).order_by(Customer.id.desc()).limit(limit)
    hits = []
    for customer in db.session.scalars(stmt):
        owner = customer.owner.name if customer.owner else _("公海")
        hits.append(SearchHit(customer.customer_name,
                              url_for("crm_customers.detail", customer_id=customer.id),
                              f"{customer_number(customer.id)} · {owner}"))
    return hits


def search_opportunities(ctx: ServiceContext, term: str, limit: int) -> list[SearchHit]:
    """Opportunities by number (``OPP-1023`` / ``1023``) or product, through the rules."""
    from modules.crm.queries import parse_number

    text = term.strip()
    if not text:
        return []
    clauses = [Opportunity.product_name.ilike(f"%{text}%")]
    number = parse_number(text)
    if number is not None:
        clauses.append(Opportunity.id == number)
    stmt = ctx.scoped(select(Opportunity).where(or_(*clauses)), Opportunity)
    hits = []
    for opp in db.session.scalars(stmt.order_by(Opportunity.id.desc()).limit(limit)):
        hits.append(SearchHit(
            f"{opp.number} {opp.product_name} × {opp.quantity}",
            url_for("crm_opportunities.detail", id=opp.id),
            f"{opp.customer.customer_name} · {_(STATUSES.get(opp.status, opp.status))}"))
    return hits


def searchers() -> list[Searcher]:
    return [
        Searcher("crm.customers", _l("客户"), search_customers,
                 permission="crm.customer.read", sequence=10),
        Searcher("crm.opportunities", _l("商机"), search_opportunities,
                 permission="crm.opportunity.read", sequence=20),
    ]

