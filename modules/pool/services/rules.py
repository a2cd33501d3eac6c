"""Pool rule writes: change the recycling rule of a customer level."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from core.errors import FieldErrors
from core.errors import NotFoundError
from core.extensions import db
from core.services import ServiceContext
from modules.pool.models import PoolRule
from modules.pool.queries import rules


def update_rule(ctx: ServiceContext, level: str, values: dict[str, Any]) -> PoolRule:
    ctx.require("pool.rule.manage")
    rule = rules().get(level)
    if rule is None:
        raise NotFoundError(_("客户分级不存在"))
    if rule.id is None:
        db.session.add(rule)
    errors = FieldErrors()
    for key in (
        "inactive_days",
        "no_deal_days",
        "remind_days",
        "max_customers",
        "max_claims_per_day",
        "cooldown_days",
    ):
        if key in values:
            try:
                number = int(values[key])
                if number < 0 or number > 3650:
                    raise ValueError
                setattr(rule, key, number)
            except (TypeError, ValueError):
                errors.add(key, _("请输入 0–3650 的整数"))
    if "enabled" in values:
        rule.enabled = bool(values["enabled"])
    if rule.remind_days >= min(rule.inactive_days, rule.no_deal_days) > 0:
        errors.add("remind_days", _("提醒天数必须小于回收天数"))
    errors.raise_if_any()
    db.session.flush()
    return rule
