"""Reads of the pool: the recycling rules, a customer's pool history, the fields hidden
from claimers.
"""

from __future__ import annotations

from sqlalchemy import select

from core.cache import request_cached
from core.extensions import db
from core.settings import get_setting
from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.pool.models import PoolMove
from modules.pool.models import PoolRule

DEFAULT_RULES = {
    "important": {"inactive_days": 60, "no_deal_days": 180, "remind_days": 7},
    "normal": {"inactive_days": 30, "no_deal_days": 90, "remind_days": 3},
    "potential": {"inactive_days": 15, "no_deal_days": 60, "remind_days": 2},
}


def _default_rule(level: str) -> PoolRule:
    values = {
        "inactive_days": 30,
        "no_deal_days": 90,
        "remind_days": 3,
        "max_customers": 200,
        "max_claims_per_day": 10,
        "cooldown_days": 7,
        "enabled": True,
    }
    values.update(DEFAULT_RULES.get(level, {}))
    return PoolRule(customer_level=level, **values)


def rules() -> dict[str, PoolRule]:
    """The rule of every level; levels without a saved rule get the defaults (not saved,
    so concurrent readers never race to insert them)."""
    found = {r.customer_level: r for r in db.session.scalars(select(PoolRule))}
    for level in CUSTOMER_LEVELS:
        found.setdefault(level, _default_rule(level))
    return found


def history(customer_id: int) -> list[PoolMove]:
    return list(
        db.session.scalars(
            select(PoolMove).where(PoolMove.customer_id == customer_id).order_by(PoolMove.id.desc())
        )
    )


def hidden_fields() -> set[str]:
    """The fields an admin hides from claimers (read once per request)."""
    def read() -> frozenset[str]:
        value = get_setting("pool.hidden_fields") or []
        return frozenset(value if isinstance(value, list) else [])

    return set(request_cached("pool.hidden_fields", read))
