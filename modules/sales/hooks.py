"""Registrations of the sales module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists
from sqlalchemy import select

from core import hookimpl
from core.extensions import db
from core.registration import MenuItem
from core.registration import Permission
from core.registration import RecordRule
from core.security.rules import own_records
from core.security.rules import team_records
from modules.sales.models import OPEN_STATUSES
from modules.sales.models import Order
from modules.sales.models import OrderLine
from modules.sales.models import OrderModification
from modules.sales.models import OrderSequence

SALES = ("sales", "manager")


@hookimpl
def register_models() -> list:
    return [Order, OrderLine, OrderModification, OrderSequence]


@hookimpl
def register_blueprints() -> list:
    from modules.sales.api import bp as api_bp
    from modules.sales.web.calendar import bp as calendar_bp
    from modules.sales.web.share import bp as share_bp
    from modules.sales.web.views import bp

    return [bp, api_bp, calendar_bp, share_bp]


@hookimpl
def register_permissions() -> list:
    return [
        Permission("sales.order.read", "查看订单", (*SALES, "engineer", "warehouse")),
        Permission("sales.order.create", "新建订单", SALES),
        Permission("sales.order.write", "修改订单（确认、变更、完成）", SALES),
        Permission("sales.order.pay", "登记订单付款", SALES),
        Permission("sales.order.deliver", "登记订单配送", (*SALES, "warehouse")),
        Permission("sales.order.install", "登记订单安装", (*SALES, "engineer")),
        Permission("sales.order.cancel", "取消订单", SALES),
        Permission("sales.order.assign", "指定订单负责人", ("manager",)),
    ]


@hookimpl
def register_record_rules() -> list:
    """Sales see their own orders, managers their team's, engineers the orders they
    install; warehouse staff see all (no rule)."""
    return [
        RecordRule("sales_order: own", Order, ("sales",), own_records(Order.sales_user_id)),
        RecordRule("sales_order: team", Order, ("manager",), team_records(Order.sales_user_id)),
        RecordRule("sales_order: installing", Order, ("engineer",),
                   own_records(Order.engineer_id)),
    ]


@hookimpl
def register_menus() -> list:
    return [
        MenuItem("orders", "订单", sequence=25, icon="receipt"),
        MenuItem("orders.list", "订单列表", "sales.index", "orders", 10, "sales.order.read"),
        MenuItem("orders.new", "新建订单", "sales.create", "orders", 20, "sales.order.create"),
        MenuItem("orders.calendar", "配送与安装日历", "sales_calendar.index", "orders", 30,
                 "sales.order.read"),
    ]


@hookimpl(optionalhook=True)
def opportunity_won(opportunity: Any, ctx: Any) -> str:
    """``#成交``, the web button and ``PATCH …/status won`` all land here: the order."""
    from flask_babel import gettext

    from modules.sales.services.orders import create_from_opportunity

    order = create_from_opportunity(ctx, opportunity)
    return gettext("已生成订单 %(no)s（¥%(amount)s），下一步：#确认订单", no=order.order_no,
                   amount=f"{order.total_amount:,.2f}")


@hookimpl(optionalhook=True)
def handover_checklist_items(customer_ids: list[int], ctx: Any) -> list[dict]:
    """Open orders of the customers handed over (合同/订单)."""
    rows = db.session.execute(
        select(Order.order_no, Order.status, Order.total_amount)
        .where(Order.customer_id.in_(customer_ids), Order.status.in_(OPEN_STATUSES))
        .order_by(Order.id)).all()
    if not rows:
        return []
    return [{"category": "orders", "title": "未完成订单", "count": len(rows),
             "detail": "、".join(f"{r.order_no} ¥{r.total_amount:,.2f}" for r in rows[:10])
             + ("…" if len(rows) > 10 else "")}]


@hookimpl(optionalhook=True)
def customers_handed_over(customer_ids: list[int], from_user_id: int | None, to_user_id: int,
                          handover_id: int, ctx: Any) -> None:
    """The open orders of the customers handed over follow them to the new owner."""
    from modules.sales.services.orders import hand_over

    hand_over(ctx, customer_ids, from_user_id, to_user_id)


@hookimpl(optionalhook=True)
def pool_exempt_where() -> Any:
    """A customer with an open order is not recycled to the pool."""
    from modules.crm.models.customer import Customer

    return exists().where(Order.customer_id == Customer.id, Order.status.in_(OPEN_STATUSES))


@hookimpl
def register_settings() -> list:
    from core.registration import Setting

    return [Setting("sales.share_days", "订单只读链接有效天数", type="int", default=7)]


@hookimpl
def register_bot_commands() -> list:
    from modules.sales.bot import commands

    return commands()


@hookimpl
def register_customer_sections() -> list:
    from modules.sales.workspace import customer_sections

    return customer_sections()


@hookimpl
def register_workspace_cards() -> list:
    from modules.sales.workspace import workspace_cards

    return workspace_cards()


@hookimpl
def register_searchers() -> list:
    from modules.sales.workspace import searchers

    return searchers()


@hookimpl
def load_demo_data(ctx: Any) -> None:
    from modules.sales.demo import load

    load(ctx)


@hookimpl
def register_dashboard_figures() -> list:
    from modules.sales.dashboard import figures

    return figures()
