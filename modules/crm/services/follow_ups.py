"""Follow-up writes: record a follow-up on a customer."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from core.errors import FieldError
from core.errors import FieldErrors
from core.extensions import db
from core.services import ServiceContext
from modules.crm.models.customer import FOLLOW_UP_CHANNELS
from modules.crm.models.customer import FollowUp
from modules.crm.queries import get_customer
from modules.crm.validation import clean_choice
from modules.crm.validation import clean_text


def _as_datetime(value: Any, ctx: ServiceContext) -> datetime:
    """A datetime; naive values are local time (the app's display time zone)."""
    if value in (None, ""):
        return ctx.now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise FieldError(gettext("跟进时间格式不正确")) from exc
    if not isinstance(value, datetime):
        raise FieldError(gettext("跟进时间格式不正确"))
    if value.tzinfo is None:
        tz = ZoneInfo(str(get_timezone() or "Asia/Shanghai"))
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise FieldError(gettext("下次跟进日期格式不正确")) from exc


def _clean_follow_up(ctx: ServiceContext, values: Mapping[str, Any]) -> dict[str, Any]:
    errors = FieldErrors()
    out: dict[str, Any] = {}
    checks: dict[str, Callable[[], Any]] = {
        "follow_up_at": lambda: _as_datetime(values.get("follow_up_at"), ctx),
        "channel": lambda: clean_choice(
            values.get("channel") or "phone", _l("跟进方式"), FOLLOW_UP_CHANNELS
        ),
        "content": lambda: clean_text(values.get("content"), _l("跟进内容"), 5000, True),
        "next_follow_up_date": lambda: _as_date(values.get("next_follow_up_date")),
    }
    for key, fn in checks.items():
        out[key] = errors.check(key, fn)
    at = out.get("follow_up_at")
    if at is not None and at > ctx.now + timedelta(minutes=5):
        errors.add("follow_up_at", gettext("跟进时间不能晚于现在"))
    nxt = out.get("next_follow_up_date")
    if nxt is not None and at is not None and nxt < at.date():
        errors.add("next_follow_up_date", gettext("下次跟进日期不能早于本次跟进"))
    opp = values.get("opportunity_id")
    out["opportunity_id"] = int(opp) if opp not in (None, "") else None
    errors.raise_if_any()
    return out


def add_follow_up(ctx: ServiceContext, customer_id: int, data: Mapping[str, Any]) -> FollowUp:
    """Record a follow-up by the actor; moves the customer's ``last_follow_up_at`` forward."""
    ctx.require("crm.follow_up.create")
    customer = get_customer(ctx, customer_id, for_write=True)
    follow_up = FollowUp(customer=customer, user_id=ctx.actor_id, **_clean_follow_up(ctx, data))
    db.session.add(follow_up)
    if customer.last_follow_up_at is None or follow_up.follow_up_at > customer.last_follow_up_at:
        customer.last_follow_up_at = follow_up.follow_up_at
    db.session.flush()
    return follow_up
