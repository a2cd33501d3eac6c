"""Helpers for pool tests: age a customer's ownership and run the daily recycling."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from core.db import utcnow
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer


def age(customer: Any, *, owned_days: int = 0, follow_up_days: int | None = None) -> None:
    """The customer was got ``owned_days`` ago (created long before) and last followed up
    ``follow_up_days`` ago (never when None)."""
    now = utcnow()
    db.session.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(
            owner_since=now - timedelta(days=owned_days),
            created_at=now - timedelta(days=400),
            last_follow_up_at=None
            if follow_up_days is None
            else now - timedelta(days=follow_up_days),
        )
    )
    db.session.commit()


def recycle(now: datetime | None = None) -> dict[str, int]:
    """One run of the daily job's service (as the job source), at ``now`` if given."""
    from modules.pool.services import customers as pool_service

    ctx = ServiceContext.system("job")
    if now is not None:
        ctx.now = now
    with unit_of_work(ctx):
        return pool_service.recycle_due(ctx)
