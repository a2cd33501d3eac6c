"""Registrations of the opportunity side of crm (collected by ``modules/crm/hooks.py``)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from core.extensions import db
from core.registration import CustomerSection
from core.registration import MenuItem
from core.registration import Permission
from core.registration import RecordRule
from core.registration import Setting
from core.security.rules import own_records
from core.security.rules import team_records
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote

SALES = ("sales", "manager")


def register_models() -> list:
    return [Opportunity, Quote]


def register_blueprints() -> list:
    from modules.crm.analytics import bp as analytics_bp
    from modules.crm.api_opportunities import bp as api_bp
    from modules.crm.views_opportunities import bp

    return [bp, api_bp, analytics_bp]


def register_permissions() -> list[Permission]:
    return [
        Permission("crm.opportunity.read", "查看商机", SALES),
        Permission("crm.opportunity.create", "新建商机", SALES),
        Permission("crm.opportunity.write", "修改商机（跟进、报价、状态）", SALES),
        Permission("crm.opportunity.claim", "认领商机", SALES),
        Permission("crm.opportunity.assign", "分配商机", ("manager",)),
        Permission("crm.analytics.read", "查看销售分析", ("manager",)),
    ]


def _unowned_open() -> Any:
    return and_(Opportunity.owner_id.is_(None), Opportunity.status.in_(OPEN_STATUSES))


def register_record_rules() -> list[RecordRule]:
    """Sales: their own opportunities and the unowned ones waiting to be claimed; managers:
    their team's and the unowned ones."""
    return [
        RecordRule("crm_opportunity: own and unclaimed", Opportunity, ("sales",),
                   lambda user: or_(own_records(Opportunity.owner_id)(user), _unowned_open())),
        RecordRule("crm_opportunity: team and unclaimed", Opportunity, ("manager",),
                   lambda user: or_(team_records(Opportunity.owner_id)(user),
                                    _unowned_open())),
        RecordRule("crm_quote: of visible opportunities", Quote, ("sales",),
                   lambda user: Quote.opportunity_id.in_(select(Opportunity.id).where(or_(
                       own_records(Opportunity.owner_id)(user), _unowned_open())))),
    ]


def register_menus() -> list[MenuItem]:
    return [
        MenuItem("opportunities", "商机", sequence=15, icon="lightning"),
        MenuItem("opportunities.list", "商机列表", "crm_opportunities.index", "opportunities",
                 10, "crm.opportunity.read"),
        MenuItem("opportunities.board", "商机看板", "crm_opportunities.board", "opportunities",
                 20, "crm.opportunity.read"),
        MenuItem("opportunities.analytics", "销售分析", "crm_analytics.index", "opportunities",
                 30, "crm.analytics.read"),
    ]


def register_settings() -> list[Setting]:
    return [
        Setting("crm.sales_webhook", "新商机推送的群机器人名称", default="sales",
                help="WECOM_WEBHOOK_KEYS 中的名称"),
        Setting("crm.sales_chat_id", "销售群的会话 ID（chatid）",
                help="机器人在销售群收到消息时的 chatid；用于 #认领 不写编号时找到最近发布的商机"),
    ]


def register_bot_commands() -> list:
    from modules.crm.bot import commands

    return commands()


def register_card_actions() -> list:
    from modules.crm.bot import card_actions

    return card_actions()


def _section(customer: Any, ctx: Any) -> str:
    from modules.crm.opportunities import opportunity_select

    opps = list(db.session.scalars(
        opportunity_select(ctx).where(Opportunity.customer_id == customer.id)
        .order_by(Opportunity.id.desc()).limit(20)))
    return render_template("crm/opportunity_section.html", opps=opps, customer=customer)


def register_customer_sections() -> list[CustomerSection]:
    return [CustomerSection("opportunities", "商机", _section, sequence=10,
                            permission="crm.opportunity.read")]


def load_demo_data(ctx: Any) -> None:
    from modules.crm.demo_opportunities import load_opportunities

    load_opportunities(ctx)
