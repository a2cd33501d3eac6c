"""Factories for stock tests: parts, warehouses, stock, requests (committed)."""

from __future__ import annotations

import itertools
from typing import Any

from core.services import ServiceContext
from core.services import unit_of_work
from modules.stock.services import catalogue
from modules.stock.services import ledger
from modules.stock.services import requests

_n = itertools.count(1)


def system() -> ServiceContext:
    return ServiceContext.system("cli")


def make_part(code: str | None = None, **fields: Any) -> Any:
    ctx = system()
    with unit_of_work(ctx):
        return catalogue.create_part(ctx, {"part_code": code or f"P-{next(_n):04d}",
                                           "part_name": fields.pop("part_name", "空调滤网"),
                                           **fields})


def make_warehouse(code: str | None = None, kind: str = "main", engineer: Any = None,
                   name: str | None = None) -> Any:
    ctx = system()
    n = next(_n)
    with unit_of_work(ctx):
        return catalogue.create_warehouse(ctx, code or f"WH-{n}", name or f"仓库{n}", kind,
                                          engineer.id if engineer else None)


def receive(part: Any, warehouse: Any, qty: int, cost: str | None = None) -> Any:
    ctx = system()
    with unit_of_work(ctx):
        return ledger.receive(ctx, part.id, warehouse.id, qty, cost)


def make_request(user: Any, part: Any, qty: int = 1, **kwargs: Any) -> Any:
    ctx = ServiceContext(actor=user, source="web")
    with unit_of_work(ctx):
        return requests.create_request(ctx, [{"part_id": part.id, "quantity": qty}], **kwargs)


def as_user(user: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    ctx = ServiceContext(actor=user, source="web")
    with unit_of_work(ctx):
        return fn(ctx, *args, **kwargs)


def on_hand(part: Any, warehouse: Any) -> int:
    return ledger.on_hand(part.id, warehouse.id)


def open_ticket() -> int:
    """The id of an open, unassigned ticket: one every engineer may name on a part request or
    a checkout (``stock_reference_visible``, answered by ``service_stock``)."""
    from tests.modules.crm.factories import make_customer
    from tests.modules.service.factories import make_ticket

    return make_ticket(make_customer(None)).id


def some_equipment(make_user: Any) -> int:
    """The id of an installed equipment record (engineers see every one)."""
    from tests.modules.equipment.factories import installed_equipment

    return installed_equipment(make_user("sales"))[0].id
