"""The pool's daily job (``ctx`` is passed in by the job runner)."""

from __future__ import annotations

from core.services import ServiceContext
from modules.pool.services.customers import recycle_due


def recycle_daily(ctx: ServiceContext) -> dict[str, int]:
    """Recycle what is due and send reminders (idempotent within a day)."""
    return recycle_due(ctx)
