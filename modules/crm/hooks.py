"""crm's hook implementations: every registration of the module, in one plugin."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from core import hookimpl
from core.extensions import db
from core.registration import CustomerSection
from core.registration import MenuItem
from core.registration import Permission
from core.registration import RecordRule
from core.registration import Setting
from core.security.models import User
from core.security.rules import managed_member_ids
from core.security.rules import own_records
from core.security.rules import team_records
from modules.crm import demo
from modules.crm.api import customers as customers_api
from modules.crm.api import opportunities as opportunities_api
from modules.crm.bot import card_actions
from modules.crm.bot import commands
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.models.handover import Handover
from modules.crm.models.handover import HandoverCustomer
from modules.crm.models.handover import HandoverStep
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.queries import opportunity_select
from modules.crm.web import analytics as analytics_web
from modules.crm.web import customers as customers_web
from modules.crm.web import handover as handover_web
from modules.crm.web import opportunities as opportunities_web

SALES = ("sales", "manager")


@hookimpl
def register_models() -> list:
    return [Customer, Contact, FollowUp, Opportunity, Quote, Handover, HandoverCustomer,
            HandoverStep]


@hookimpl
def register_blueprints() -> list:
    return [customers_web.bp, customers_api.bp, opportunities_web.bp, opportunities_api.bp,
            analytics_web.bp, handover_web.bp]


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission("crm.customer.read", "查看客户", SALES),
        Permission("crm.customer.create", "新建客户", SALES),
        Permission("crm.customer.write", "修改客户", SALES),
        Permission("crm.customer.delete", "删除客户", ("manager",)),
        Permission("crm.customer.export", "导出客户", SALES),
        Permission("crm.customer.assign", "分配与锁定客户", ("manager",)),
        Permission("crm.contact.read", "查看联系人", SALES),
        Permission("crm.contact.create", "新建联系人", SALES),
        Permission("crm.contact.write", "修改联系人", SALES),
        Permission("crm.contact.delete", "删除联系人", SALES),
        Permission("crm.follow_up.read", "查看跟进记录", SALES),
        Permission("crm.follow_up.create", "新建跟进记录", SALES),
        Permission("crm.opportunity.read", "查看商机", SALES),
        Permission("crm.opportunity.create", "新建商机", SALES),
        Permission("crm.opportunity.write", "修改商机（跟进、报价、状态）", SALES),
        Permission("crm.opportunity.claim", "认领商机", SALES),
        Permission("crm.opportunity.assign", "分配商机", ("manager",)),
        Permission("crm.opportunity.announced", "接收新商机推送", ("sales",)),
        Permission("crm.handover.read", "查看客户交接", ("manager", "sales")),
        Permission("crm.handover.start", "发起客户交接", ("manager",)),
        Permission("crm.handover.review", "审核客户交接", ("manager",)),
    ]


# --- record rules ------------------------------------------------------------------------


def _in_pool(user: Any) -> Any:
    return Customer.status == "in_pool"


def sales_customers(user: Any) -> Any:
    """Sales: their own customers plus the pool."""
    return or_(own_records(Customer.owner_id)(user), _in_pool(user))


def team_customers(user: Any) -> Any:
    """Managers: their own and their team members' customers, plus the pool."""
    return or_(team_records(Customer.owner_id)(user), _in_pool(user))


def _via_customer(column: Any, domain: Any) -> Any:
    """Rows whose customer the user may see under ``domain``."""
    return lambda user: column.in_(select(Customer.id).where(domain(user)))


def _unowned_open() -> Any:
    return and_(Opportunity.owner_id.is_(None), Opportunity.status.in_(OPEN_STATUSES))


@hookimpl
def register_record_rules() -> list[RecordRule]:
    """Customers, contacts and follow-ups: sales see their own customers' and the pool's,
    managers their team's and the pool's. Opportunities: sales their own and the unowned
    ones waiting to be claimed; managers their team's and the unowned ones."""
    rules = []
    for model, column in (
        (Customer, None),
        (Contact, Contact.customer_id),
        (FollowUp, FollowUp.customer_id),
    ):
        name = model.__tablename__
        sales = sales_customers if column is None else _via_customer(column, sales_customers)
        team = team_customers if column is None else _via_customer(column, team_customers)
        rules.append(RecordRule(f"{name}: own and pool", model, ("sales",), sales))
        rules.append(RecordRule(f"{name}: team and pool", model, ("manager",), team))
    return [
        *rules,
        RecordRule("crm_opportunity: own and unclaimed", Opportunity, ("sales",),
                   lambda user: or_(own_records(Opportunity.owner_id)(user), _unowned_open())),
        RecordRule("crm_opportunity: team and unclaimed", Opportunity, ("manager",),
                   lambda user: or_(team_records(Opportunity.owner_id)(user),
                                    _unowned_open())),
        RecordRule("crm_quote: of visible opportunities", Quote, ("sales",),
                   lambda user: Quote.opportunity_id.in_(select(Opportunity.id).where(or_(
                       own_records(Opportunity.owner_id)(user), _unowned_open())))),
        # Handovers (issue 14 #9, #10): the people in it see it; a manager those of his
        # team's members; reading, reviewing and commenting all go through this rule.
        RecordRule("crm_handover: own", Handover, ("sales", "engineer", "warehouse"),
                   _own_handovers),
        RecordRule("crm_handover: team", Handover, ("manager",), _team_handovers),
    ]


def _own_handovers(user: Any) -> Any:
    return or_(Handover.from_user_id == user.id, Handover.to_user_id == user.id,
               Handover.initiator_id == user.id)


def _team_handovers(user: Any) -> Any:
    """Handovers of the members of the teams he manages, and of the team he is in (a second
    manager of a team reviews what the first started)."""
    members = {user.id, *managed_member_ids(user)}
    if user.team_id is not None:
        members |= set(db.session.scalars(select(User.id).where(User.team_id == user.team_id)))
    members = sorted(members)
    return or_(Handover.from_user_id.in_(members), Handover.to_user_id.in_(members),
               Handover.initiator_id == user.id)


@hookimpl
def register_menus() -> list[MenuItem]:
    return [
        MenuItem("customers", "客户", sequence=20, icon="people"),
        MenuItem("customers.list", "客户列表", "crm_customers.index", "customers", 10,
                 "crm.customer.read"),
        MenuItem("customers.new", "新建客户", "crm_customers.create", "customers", 20,
                 "crm.customer.create"),
        MenuItem("customers.handover", "客户交接", "crm_handover.index", "customers", 40,
                 "crm.handover.read"),
        MenuItem("opportunities", "商机", sequence=15, icon="lightning"),
        MenuItem("opportunities.list", "商机列表", "crm_opportunities.index", "opportunities",
                 10, "crm.opportunity.read"),
        MenuItem("opportunities.board", "商机看板", "crm_opportunities.board", "opportunities",
                 20, "crm.opportunity.read"),
        MenuItem("opportunities.analytics", "销售分析", "crm_analytics.index", "opportunities",
                 30, "crm.opportunity.read"),
    ]


@hookimpl
def register_settings() -> list[Setting]:
    return [
        Setting("crm.sales_chat_id", "销售群的会话 ID（chatid）",
                help="机器人在销售群收到消息时的 chatid；用于 #认领 不写编号时找到最近发布的商机"),
        Setting(
            "crm.handover.notify_channels",
            "交接完成后通知客户的渠道",
            type="json",
            default=["sms", "email"],
            help='可选 "sms"、"email"、"log"；企业微信客户由客户转移时通知',
        ),
    ]


@hookimpl
def register_bot_commands() -> list:
    return commands()


@hookimpl
def register_card_actions() -> list:
    return card_actions()


def _opportunity_section(customer: Any, ctx: Any) -> str:
    opps = list(db.session.scalars(
        opportunity_select(ctx).where(Opportunity.customer_id == customer.id)
        .order_by(Opportunity.id.desc()).limit(20)))
    return render_template("crm/opportunity_section.html", opps=opps, customer=customer)


@hookimpl
def register_customer_sections() -> list[CustomerSection]:
    return [CustomerSection("opportunities", "商机", _opportunity_section, sequence=10,
                            permission="crm.opportunity.read")]


@hookimpl
def register_workspace_cards() -> list:
    from modules.crm.workspace import workspace_cards

    return workspace_cards()


@hookimpl
def register_searchers() -> list:
    from modules.crm.workspace import searchers

    return searchers()


@hookimpl
def load_demo_data(ctx: Any) -> None:
    demo.load(ctx)


@hookimpl
def register_import_kinds() -> list:
    from modules.crm.imports import import_kinds

    return import_kinds()


@hookimpl
def register_dashboard_figures() -> list:
    from modules.crm.dashboard import figures

    return figures()
