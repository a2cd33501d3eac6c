"""pool demo data: the default recycling rule of every customer level."""

from __future__ import annotations

from typing import Any

from modules.pool.services.rules import update_rule


def load(ctx: Any) -> None:
    """Save the default rules per level. Some demo customers are overdue on purpose: the
    daily job (``manage.py jobs run pool.recycle_daily``) recycles them."""
    for level in ("important", "normal", "potential"):
        update_rule(ctx, level, {})
