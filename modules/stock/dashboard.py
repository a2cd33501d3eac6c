"""stock's figure on the business overview: active parts whose on-hand stock is below
their minimum (the parts list's 库存预警 filter)."""

from __future__ import annotations

from flask import url_for

from core.periods import Period
from core.registration import DashboardFigure
from core.registration import Figure
from core.services import ServiceContext
from modules.stock.queries import parts_below_minimum


def _low(ctx: ServiceContext, _period: Period) -> Figure:
    ctx.require("stock.part.read")
    _rows, total = parts_below_minimum(limit=0)
    return Figure(total, f"{total:,}", url_for("stock.parts", low_stock="1"),
                  higher_is_better=False)


def figures() -> list[DashboardFigure]:
    return [DashboardFigure("stock.below_minimum", "低于最低库存的配件", _low,
                            permission="stock.part.read", group="库存", sequence=60)]
