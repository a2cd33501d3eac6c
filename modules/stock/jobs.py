"""The stock module's daily job (run by ``core.jobs`` inside its own unit of work)."""

from __future__ import annotations

from core.services import ServiceContext


def low_stock_daily() -> dict[str, int]:
    """Raise purchase requests for parts whose projected stock is below their minimum:
    once per shortage, however often it runs."""
    from modules.stock.services.purchasing import low_stock_check

    raised = low_stock_check(ServiceContext.system("job"))
    return {"purchase_requests": len(raised)}
