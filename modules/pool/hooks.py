"""Registrations of the pool module."""

from __future__ import annotations

from typing import Any

from flask import render_template

from core import hookimpl
from core.registration import CustomerSection
from core.registration import JobSpec
from core.registration import MenuItem
from core.registration import Permission
from core.registration import Setting
from modules.crm.models.customer import Customer
from modules.pool import demo
from modules.pool.api import bp as api_bp
from modules.pool.models import PoolMove
from modules.pool.models import PoolRule
from modules.pool.queries import hidden_fields
from modules.pool.queries import history
from modules.pool.web.views import bp

SALES = ("sales", "manager")


@hookimpl
def register_models() -> list:
    return [PoolRule, PoolMove]


@hookimpl
def register_blueprints() -> list:
    return [bp, api_bp]


@hookimpl
def register_permissions() -> list:
    return [
        Permission("pool.customer.read", "查看公海", SALES),
        Permission("pool.customer.claim", "领取公海客户", SALES),
        Permission("pool.customer.release", "放入公海", SALES),
        Permission("pool.customer.assign", "分配公海客户", ("manager",)),
        Permission("pool.rule.manage", "管理公海规则"),
    ]


@hookimpl
def register_menus() -> list:
    return [
        MenuItem("customers.pool", "公海池", "pool.index", "customers", 30, "pool.customer.read"),
        MenuItem("settings.pool", "公海规则", "pool.rules", "settings", 80, "pool.rule.manage"),
    ]


@hookimpl
def register_jobs() -> list:
    return [
        JobSpec(
            "pool.recycle_daily",
            "modules.pool.jobs:recycle_daily",
            schedule="0 18 * * *",
            description="每日回收到期客户并提醒（北京时间 02:00）",
        )
    ]


@hookimpl
def register_settings() -> list:
    return [
        Setting(
            "pool.hidden_fields",
            "对领取人隐藏的公海字段",
            type="json",
            default=[],
            help='例如 ["phone", "address"]',
        )
    ]


def _section(customer: Any, ctx: Any) -> str:
    moves = history(customer.id)
    html = render_template("pool/moves.html", moves=moves)
    if customer.status != "in_pool" and ctx.can("pool.customer.release"):
        html += render_template("pool/release_form.html", customer=customer)
    return html


@hookimpl
def register_customer_sections() -> list:
    return [
        CustomerSection("pool", "公海流转", _section, sequence=90, permission="pool.customer.read")
    ]


@hookimpl
def customer_hidden_fields(customer: Any, ctx: Any) -> list[str]:
    """crm asks which fields to blank: while in the pool, those hidden from claimers."""
    if customer.status != "in_pool" or ctx.can("pool.customer.assign"):
        return []
    return sorted(hidden_fields())


@hookimpl
def customer_hidden_where(field: str, ctx: Any) -> Any:
    """The same rule as a condition: customers in the pool, when ``field`` is hidden."""
    if field not in hidden_fields() or ctx.can("pool.customer.assign"):
        return None
    return Customer.status == "in_pool"


@hookimpl
def register_workspace_cards() -> list:
    from modules.pool.workspace import workspace_cards

    return workspace_cards()


@hookimpl
def load_demo_data(ctx: Any) -> None:
    demo.load(ctx)


@hookimpl
def register_dashboard_figures() -> list:
    from modules.pool.dashboard import figures

    return figures()
