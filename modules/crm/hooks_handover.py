"""Registrations of handover (collected by ``modules/crm/hooks.py``)."""

from __future__ import annotations

from typing import Any

from core.registration import MenuItem
from core.registration import Permission
from core.registration import Setting
from modules.crm.models.handover import Handover
from modules.crm.models.handover import HandoverCustomer
from modules.crm.models.handover import HandoverStep


def register_models() -> list:
    return [Handover, HandoverCustomer, HandoverStep]


def register_blueprints() -> list:
    from modules.crm.views_handover import bp

    return [bp]


def register_permissions() -> list[Permission]:
    return [
        Permission("crm.handover.read", "查看客户交接", ("manager", "sales")),
        Permission("crm.handover.start", "发起客户交接", ("manager",)),
        Permission("crm.handover.review", "审核客户交接", ("manager",)),
    ]


def register_menus() -> list[MenuItem]:
    return [
        MenuItem(
            "customers.handover",
            "客户交接",
            "crm_handover.index",
            "customers",
            40,
            "crm.handover.read",
        )
    ]


def register_settings() -> list[Setting]:
    return [
        Setting(
            "crm.handover.notify_channels",
            "交接完成后通知客户的渠道",
            type="json",
            default=["sms", "email"],
            help='可选 "sms"、"email"、"log"；企业微信客户由客户转移时通知',
        )
    ]


def load_demo_data(ctx: Any) -> None:
    """One handover waiting for review: 销售一组's manager moves three of sales2's customers
    to sales1 (an admin approves it, sales1 confirms)."""
    from sqlalchemy import func
    from sqlalchemy import select

    from core.extensions import db
    from core.security.models import User
    from core.services import ServiceContext
    from modules.crm import handover
    from modules.crm.models.customer import Customer

    if db.session.scalar(select(func.count()).select_from(Handover)):
        return
    users = {
        u.username: u
        for u in db.session.scalars(
            select(User).where(User.username.in_(("manager", "sales1", "sales2")))
        )
    }
    if len(users) < 3:
        return
    picked = list(
        db.session.scalars(
            select(Customer.id)
            .where(Customer.owner_id == users["sales2"].id, Customer.status != "in_pool")
            .order_by(Customer.id)
            .limit(3)
        )
    )
    if not picked:
        return
    boss = ServiceContext(actor=users["manager"], source=ctx.source)
    h = handover.start_handover(
        boss,
        to_user_id=users["sales1"].id,
        reason="position_change",
        from_user_id=users["sales2"].id,
        customer_ids=picked,
        note="sales2 调往售后部，部分客户转给 sales1",
    )
    handover.submit(boss, h.id)
