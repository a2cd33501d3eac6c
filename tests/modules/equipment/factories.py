"""Installed equipment for tests: an order taken through delivery and installation."""

from __future__ import annotations

import itertools
from typing import Any

from tests.modules.crm.factories import act
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import line
from tests.modules.sales.factories import make_order

_serials = itertools.count(1)


def delivered_order(owner: Any, **overrides: Any) -> Any:
    order = make_order(owner, **overrides)
    return advance(owner, order, "confirmed", "paid", "delivered")


def serials_for(order: Any, locations: tuple[str, ...] = ("3楼",)) -> list[dict[str, Any]]:
    out = []
    for x in order.lines:
        for n in range(x.delivered_quantity):
            out.append({"line_id": x.id, "serial_number": f"SN{next(_serials):08d}",
                        "install_location": locations[n % len(locations)]})
    return out


def installed_equipment(owner: Any, installer: Any = None, **overrides: Any) -> list[Any]:
    """Equipment of a fresh order of ``owner`` installed by ``installer`` (the owner)."""
    from sqlalchemy import select

    from core.extensions import db
    from modules.equipment.models import Equipment
    from modules.sales.services.orders import install_order

    overrides.setdefault("lines", [line()])
    order = delivered_order(owner, **overrides)
    act(installer or owner, install_order, order.id, serials_for(order))
    return list(db.session.scalars(select(Equipment).where(Equipment.order_id == order.id)
                                   .order_by(Equipment.id)))
