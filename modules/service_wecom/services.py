"""Customers report problems themselves on the official account (seed 001 阶段二):

* "售后" / "维修" / "报修" (optionally followed by the problem) from a customer whose binding
  is verified starts a ticket: with a description it is created at once, otherwise the next
  message (within 30 minutes) is the description; a type word (维修 保养 投诉 退货 安装 咨询)
  picks the type;
* the ticket is matched to the customer's latest in-progress order, dispatched (project
  owner first) and pushed like any other; the customer gets the ticket number back;
* an unverified (or unknown) sender is told politely how to get verified.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.errors import TandemError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.services.tickets import create_ticket
from modules.service_wecom.models import Intake
from modules.wecom_crm.models import Binding

STARTERS = ("售后", "维修", "报修")
TYPE_WORDS = {"维修": "repair", "报修": "repair", "售后": "repair", "保养": "maintenance",
              "投诉": "complaint", "退货": "return", "安装": "installation", "咨询": "inquiry"}
WINDOW = timedelta(minutes=30)
MENU = ("请直接描述问题（可注明类型：维修 / 保养 / 投诉 / 退货 / 安装 / 咨询），例如："
        "“维修 3楼空调制冷不好”。")
NOT_VERIFIED = ("您好！为保障您的信息安全，售后服务仅对已认证客户开放。请先在本公众号发送您的"
                "手机号，您的专属顾问通过企业微信添加您后即完成认证，之后发送“售后”即可报修。"
                "如需紧急处理，请直接联系您的专属顾问。")


def _split(text: str) -> tuple[str | None, str]:
    """``"维修 3楼空调不制冷"`` → ``("repair", "3楼空调不制冷")``; no type word → (None, text)."""
    text = text.strip()
    for word, kind in TYPE_WORDS.items():
        if text.startswith(word):
            return kind, text[len(word):].lstrip(" ：:，,")
    return None, text


def customer_message(ctx: ServiceContext, openid: str, text: str) -> str | None:
    text = (text or "").strip()
    if not openid or not text:
        return None
    kind, rest = _split(text)
    pending = db.session.get(Intake, openid)
    if pending is not None and pending.started_at + WINDOW < ctx.now:
        db.session.delete(pending)
        pending = None
    starts = any(text.startswith(word) for word in STARTERS) or (
        kind is not None and pending is None and bool(rest))
    if not starts and pending is None:
        return None
    binding = db.session.scalar(select(Binding).where(Binding.oa_openid == openid))
    if binding is None or not binding.is_verified or binding.customer_id is None:
        return NOT_VERIFIED
    if not rest and pending is None:  # "售后" alone: ask for the description
        db.session.add(Intake(openid=openid, ticket_type=kind or "repair", started_at=ctx.now))
        return MENU
    ticket_type = kind or (pending.ticket_type if pending is not None else "repair")
    if pending is not None:
        db.session.delete(pending)
    description = rest or text
    try:
        ticket = create_ticket(ctx, {
            "customer_id": binding.customer_id, "ticket_type": ticket_type,
            "subject": description[:60], "description": description, "channel": "customer"})
    except TandemError as exc:
        return f"抱歉，工单未能提交：{exc.message}"
    return (f"工单已提交，编号：{ticket.ticket_no}。我们已通知您的项目负责人，"
            "会尽快与您联系。")


PHOTO_WINDOW = timedelta(hours=2)


def customer_picture(ctx: ServiceContext, openid: str, pic_url: str) -> str | None:
    """A picture from a verified customer goes on the ticket he reported himself in the last
    two hours (seed 001: he describes the problem with photos); otherwise he is told how."""
    from modules.service.models import OPEN_STATUSES
    from modules.service.models import Ticket
    from modules.service.services.photos import add_photo
    from modules.wecom.oa_media import fetch_picture

    if not openid:
        return None
    binding = db.session.scalar(select(Binding).where(Binding.oa_openid == openid))
    if binding is None or not binding.is_verified or binding.customer_id is None:
        return NOT_VERIFIED
    ticket = db.session.scalar(select(Ticket).where(
        Ticket.customer_id == binding.customer_id, Ticket.channel == "customer",
        Ticket.status.in_(OPEN_STATUSES), Ticket.created_at >= ctx.now - PHOTO_WINDOW)
        .order_by(Ticket.id.desc()).limit(1))
    if ticket is None:
        return "请先发送“维修”并描述问题，工单提交后再发送照片，照片会附在工单上。"
    data = fetch_picture(pic_url)
    if data is None:
        return "抱歉，照片未能接收，请稍后重新发送。"
    try:
        with unit_of_work(ctx):  # a savepoint: a refused photo leaves nothing behind
            add_photo(ctx, ticket.id, data, "intake", "")
    except TandemError as exc:
        return f"抱歉，照片未能附到工单：{exc.message}"
    return f"照片已收到，已附在工单 {ticket.ticket_no} 上。"
