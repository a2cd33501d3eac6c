"""The pool's daily job."""

from __future__ import annotations

from core.services import ServiceContext
from modules.pool.services.customers import recycle_due


def recycle_daily() -> dict[str, int]:
    """Recycle what is due and send reminders (idempotent within a day)."""
    return recycle_due(ServiceContext.system("job"))
