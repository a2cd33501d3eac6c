"""Orders made through the services, for tests."""

from __future__ import annotations

from typing import Any

from tests.modules.crm.factories import act
from tests.modules.crm.factories import make_customer


def line(**overrides: Any) -> dict[str, Any]:
    return {"product_name": "中央空调", "model": "GMV-H160WL", "brand": "格力",
            "equipment_type": "中央空调", "quantity": 2, "unit_price": "18500.00",
            **overrides}


def make_order(owner: Any, customer: Any = None, **overrides: Any) -> Any:
    """A pending order of ``owner`` (a salesperson) for ``customer`` (made when omitted)."""
    from modules.sales.services.orders import create_order

    customer = customer or make_customer(owner)
    data = {"customer_id": customer.id, "lines": [line()], "delivery_address": "上海市浦东新区张江路88号",
            **overrides}
    return act(owner, create_order, data)


def advance(user: Any, order: Any, *statuses: str) -> Any:
    from modules.sales.services.orders import change_status

    for status in statuses:
        order = act(user, change_status, order.id, status)
    return order
