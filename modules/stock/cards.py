"""Chat cards of the stock module: the part request's approval card and the low-stock
card of the warehouse group. Sent through the outbox (``core.notify``): in-app always,
WeCom app messages and the group robot when the wecom module provides those channels."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import pgettext

from core import hooks
from core.bot import Card
from core.bot import CardButton
from core.services import ServiceContext
from core.web.i18n import default_locale

MODEL = "stock_part_request"


def _base() -> str:
    return current_app.config.get("TANDEM_BASE_URL", "").rstrip("/")


def request_url(req: Any) -> str:
    return f"{_base()}/stock/requests/{req.id}"


def request_card(req: Any, source: str | None = None, *, buttons: bool = True) -> Card:
    """The request's card; approvers' copies carry 批准 / 驳回 while it is undecided."""
    items = _("、").join(f"{ln.part.part_code} {ln.part.part_name}×{ln.quantity}"
                        for ln in req.lines)
    fields = [(_("编号"), req.number), (_("状态"), _(req.status_label)),
              (_("申请人"), req.requester.name if req.requester else "-"),
              (_("用途"), _(req.purpose_label))]
    if req.ticket_id:
        fields.append((_("工单"), str(req.ticket_id)))
    if req.decision_note:
        fields.append((_("说明"), req.decision_note))
    card_buttons = [CardButton.link(pgettext("card", "查看"), request_url(req))]
    if buttons and req.status in ("pending", "info_requested"):
        card_buttons[:0] = [CardButton.action(_("批准"), "stock.request.approve", req.id),
                            CardButton.action(_("驳回"), "stock.request.reject", req.id, 2),
                            CardButton.action(_("需补充"), "stock.request.ask_info", req.id, 2)]
    return Card(title=items, source=source if source is not None else _("配件申请"),
                emphasis=(_("紧急程度"), _("紧急") if req.urgency == "urgent" else _("普通")),
                description=req.notes or "", fields=fields, url=request_url(req),
                buttons=card_buttons, record=(MODEL, req.id))


def _channels() -> Any:
    return hooks.registry().notification_channels


def push_request_card(ctx: ServiceContext, req: Any, approvers: list[Any]) -> None:
    """A new request: each approver gets an in-app notice and the card with buttons on
    WeCom; the warehouse group robot gets the card without buttons."""
    from core.notify import notify
    from core.settings import get_setting

    with force_locale(default_locale()):
        card = request_card(req, source="待审批的配件申请")
        payload = {"msgtype": "template_card", "card": card.to_template_card()}
        group = request_card(req, source="配件申请", buttons=False)
        group_payload = {"msgtype": "template_card", "card": group.to_template_card()}
    title = f"配件申请 {req.number}：{card.title}"
    key = f"stock.request.new:{req.id}:{req.updated_at.isoformat() if req.updated_at else ''}"
    others = [u for u in approvers if u.id != req.requester_id]
    if others:
        notify(ctx, others, title, req.notes or "", url=card.url, dedupe_key=key, record=req)
    channels = _channels()
    on_wecom = [u for u in others if u.wecom_userid]
    if "wecom" in channels and on_wecom:
        notify(ctx, on_wecom, title, req.notes or "", channels=("wecom",), url=card.url,
               payload=payload, dedupe_key=key, record=req)
    webhook = get_setting("stock.warehouse_webhook")
    configured = get_setting("wecom.webhook_keys") or {}
    if "wecom_webhook" in channels and webhook and webhook in configured:
        notify(ctx, [], title, "", channels=("wecom_webhook",), url=card.url,
               payload=group_payload, dedupe_key=key, address=str(webhook), record=req)


def push_low_stock_card(ctx: ServiceContext, raised: list[Any]) -> None:
    """One card for a run of the low-stock rule: the parts and the quantities requested."""

    from core.extensions import db
    from core.notify import notify
    from core.security.permissions import granted_users
    from core.settings import get_setting

    with force_locale(default_locale()):
        fields = [(pr.part.part_code,
                   f"预计 {pr.snapshot['projected']} / 最低 {pr.snapshot['min_stock_alert']}，"
                   f"申购 {pr.quantity}") for pr in raised]
        card = Card(title=f"低库存预警：{len(raised)} 种配件", source="配件库存",
                    emphasis=("待审批采购申请", str(len(raised))), fields=fields,
                    url=f"{_base()}/stock/purchase-requests")
        payload = {"msgtype": "template_card", "card": card.to_template_card()}
    body = "\n".join(f"{k}：{v}" for k, v in fields)
    key = "stock.low_stock:" + ",".join(str(pr.id) for pr in raised)
    keepers = list(db.session.scalars(granted_users("stock.purchase.write")))
    if keepers:
        notify(ctx, keepers, card.title, body, url=card.url, dedupe_key=key)
    webhook = get_setting("stock.warehouse_webhook")
    configured = get_setting("wecom.webhook_keys") or {}
    if "wecom_webhook" in _channels() and webhook and webhook in configured:
        notify(ctx, [], card.title, body, channels=("wecom_webhook",), url=card.url,
               payload=payload, dedupe_key=key, address=str(webhook))
    chat_id = get_setting("stock.warehouse_chat_id")
    if chat_id:
        from core.bot import remember_card

        remember_card(str(chat_id), card)
