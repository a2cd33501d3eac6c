"""pool's figure on the business overview: customers the daily job will recycle within
their rule's reminder days (a salesperson's own, a manager's team's), as on 公海 → 即将回收."""

from __future__ import annotations

from flask import url_for

from core.periods import Period
from core.registration import DashboardFigure
from core.registration import Figure
from core.services import ServiceContext
from modules.pool.workspace import due_count


def _due(ctx: ServiceContext, _period: Period) -> Figure:
    count = due_count(ctx, mine=not ctx.can("pool.customer.assign"))
    return Figure(count, f"{count:,}", url_for("pool.due"), higher_is_better=False)


def figures() -> list[DashboardFigure]:
    return [DashboardFigure("pool.due_soon", "即将回收的客户", _due,
                            permission="pool.customer.release", group="销售", sequence=40)]
