"""Read-only links to an order for people outside WeCom (seed 001's "project link", made
safe): signed with the app's secret, expiring after ``sales.share_days``, revocable (an
order's ``share_version`` is in every token; revoking increments it). The token is handed
to the user once and never stored, logged or audited; the link carries it after ``#``, so
browsers do not even send it in the request line."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer

from core import audit
from core.errors import NotFoundError
from core.errors import UserError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from modules.sales.models import Order
from modules.sales.queries import get_order

SALT = "sales.order-share"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def share_days() -> int:
    return max(int(get_setting("sales.share_days") or 7), 1)


def create_link_token(ctx: ServiceContext, secret: str, order_id: int) -> str:
    """A token for a read-only view of a visible order (the caller may change it)."""
    ctx.require("sales.order.write")
    order = get_order(ctx, order_id)
    if order.status == "cancelled":
        raise UserError(_("已取消的订单不能分享"))
    audit.record(ctx, order, "share", f"生成只读链接（{share_days()} 天有效）", {})
    return _serializer(secret).dumps({"o": order.id, "v": order.share_version})


def revoke_links(ctx: ServiceContext, order_id: int) -> Order:
    ctx.require("sales.order.write")
    order = get_order(ctx, order_id, for_update=True)
    order.share_version = (order.share_version or 0) + 1
    db.session.flush()
    audit.record(ctx, order, "share_revoke", "撤销全部只读链接", {})
    return order


def order_for_token(secret: str, token: str) -> Order:
    """The order a valid token opens (404 for forged, expired or revoked tokens)."""
    try:
        data: Any = _serializer(secret).loads(token, max_age=share_days() * 86400)
    except (BadSignature, SignatureExpired) as exc:
        raise NotFoundError(_("链接无效或已过期")) from exc
    order = db.session.get(Order, int(data.get("o", 0))) if isinstance(data, dict) else None
    if order is None or order.share_version != data.get("v") or order.status == "cancelled":
        raise NotFoundError(_("链接无效或已过期"))
    return order


def mask_phone(phone: str | None) -> str:
    if not phone:
        return "—"
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"
