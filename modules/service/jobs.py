"""Background jobs of the service module (registered in hooks.py)."""

from __future__ import annotations

from core.services import ServiceContext
from core.services import unit_of_work


def refresh_sla() -> dict[str, int]:
    """Mark breached SLAs and escalate each breached ticket once (every minute)."""
    from modules.service.services import sla

    ctx = ServiceContext.system("job")
    with unit_of_work(ctx):
        return sla.refresh(ctx)


def dispatch_timeouts() -> dict[str, int]:
    """Offers without an answer go to the next candidate; expired grab windows are
    dispatched by the rules (every minute)."""
    from modules.service.services import dispatch

    ctx = ServiceContext.system("job")
    with unit_of_work(ctx):
        return dispatch.run_timeouts(ctx)


def expire_surveys() -> int:
    """Unanswered surveys past their date become "no rating" (hourly)."""
    from modules.service.services import ratings

    ctx = ServiceContext.system("job")
    with unit_of_work(ctx):
        return ratings.expire_surveys(ctx)
