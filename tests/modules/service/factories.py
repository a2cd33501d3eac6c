"""Test data for the service module: people, customers and tickets through the services."""

from __future__ import annotations

from typing import Any

from core.services import ServiceContext
from core.services import unit_of_work
from tests.modules.crm.factories import act
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer

__all__ = ["act", "ctx_for", "make_customer", "make_engineer", "make_ticket", "service_people",
           "set_settings"]


def set_settings(**values: Any) -> None:
    from core.settings import set_setting

    with unit_of_work(ServiceContext.system("cli")):
        for key, value in values.items():
            set_setting(f"service.{key}", value)


def make_engineer(make_user: Any, username: str, display_name: str = "", **profile: Any) -> Any:
    from modules.service.services.dispatch import save_engineer

    user = make_user("engineer", username=username, display_name=display_name or username,
                     wecom_userid=username)
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        save_engineer(ctx, user.id, profile)
    return user


def service_people(make_user: Any) -> dict[str, Any]:
    """Engineers 李工, 张工 (profiles), a manager, a salesperson who owns the customer."""
    return {
        "li": make_engineer(make_user, "ligong", "李工"),
        "zhang": make_engineer(make_user, "zhanggong", "张工"),
        "manager": make_user("manager", username="boss", display_name="赵主管"),
        "sales": make_user("sales", username="wangxs", display_name="王销售",
                           wecom_userid="wangxs"),
    }


def make_ticket(customer: Any, actor: Any = None, **data: Any) -> Any:
    from modules.service.services.tickets import create_ticket

    ctx = ctx_for(actor) if actor is not None else ServiceContext.system("cli")
    values = {"customer_id": customer.id, "ticket_type": "repair",
              "subject": "3楼空调制冷不好", "description": "开机半小时仍不制冷"}
    values.update(data)
    with unit_of_work(ctx):
        return create_ticket(ctx, values)
