"""Registrations of the customer side of crm (collected by ``modules/crm/hooks.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy import select

from core.registration import MenuItem
from core.registration import Permission
from core.registration import RecordRule
from core.security.rules import own_records
from core.security.rules import team_records
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.util import import_optional_parts

SALES = ("sales", "manager")


def register_models() -> list:
    return [Customer, Contact, FollowUp]


def register_blueprints() -> list:
    parts = import_optional_parts("modules.crm", ("views_customers", "api_customers"))
    return [part.bp for part in parts]


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
    ]


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


def register_record_rules() -> list[RecordRule]:
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
    return rules


def register_menus() -> list[MenuItem]:
    if not import_optional_parts("modules.crm", ("views_customers",)):
        return []
    return [
        MenuItem("customers", "客户", sequence=20, icon="people"),
        MenuItem(
            "customers.list",
            "客户列表",
            "crm_customers.index",
            "customers",
            10,
            "crm.customer.read",
        ),
        MenuItem(
            "customers.new",
            "新建客户",
            "crm_customers.create",
            "customers",
            20,
            "crm.customer.create",
        ),
    ]


def load_demo_data(ctx: Any) -> None:
    from modules.crm.demo import load_customers

    load_customers(ctx)
