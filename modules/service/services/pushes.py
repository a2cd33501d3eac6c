"""Who hears about a ticket (seed 001 阶段三): the assignee, the customer's sales owner and
the project owner, and the service group — in-app always, WeCom (app message card) for
users bound to WeCom, and the service group robot; the message carries the ticket link and
the project (order) link. The group's chat remembers the card, so ``#认领`` there needs no
number. Everything goes through the outbox (``core.notify``) in the business transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from core.extensions import db
from core.hooks import registry
from core.notify import notify
from core.security.models import Role
from core.security.models import User
from core.services import ServiceContext
from core.settings import get_setting
from core.web.i18n import default_locale
from modules.service import links
from modules.service.models import Ticket

TICKET_URL = "/service/tickets/{id}"


def _card(ticket: Ticket, source: str, *, offer: bool = False) -> Any:
    from modules.service.cards import ticket_card

    with force_locale(default_locale()):
        return ticket_card(ticket, source=source, offer=offer)


def _body(ticket: Ticket) -> str:
    lines = [f"工单号：{ticket.ticket_no}",
             f"客户：{ticket.customer.customer_name}"
             + (f"（{ticket.contact_phone}）" if ticket.contact_phone else ""),
             f"类型：{ticket.type_label}", f"主题：{ticket.subject}",
             f"优先级：{ticket.priority_label}"]
    order = links.order_label(ticket.order_id)
    if order:
        lines.append(f"项目：{order}")
    if ticket.description:
        lines.append(f"描述：{ticket.description[:120]}")
    project = links.order_url(ticket.order_id)
    if project:
        lines.append(f"项目详情：{project}")
    return "\n".join(lines)


def _send(ctx: ServiceContext, users: Iterable[User], subject: str, ticket: Ticket,
          key: str, *, card: Any = None, body: str | None = None) -> None:
    users = [u for u in dict.fromkeys(users) if u is not None and u.active
             and u.id != ctx.actor_id]
    if not users:
        return
    url = TICKET_URL.format(id=ticket.id)
    body = body if body is not None else _body(ticket)
    notify(ctx, users, subject, body, channels=("inapp",), url=url, dedupe_key=key,
           record=ticket)
    channels = registry().notification_channels
    on_wecom = [u for u in users if u.wecom_userid]
    if "wecom" in channels and on_wecom:
        payload = {"msgtype": "template_card", "card": card.to_template_card()} if card \
            else None
        notify(ctx, on_wecom, subject, body, channels=("wecom",), url=url, payload=payload,
               dedupe_key=key, record=ticket)


def _group(ctx: ServiceContext, ticket: Ticket, subject: str, card: Any, key: str) -> None:
    """The service group: the robot webhook and the chat context for ``#认领``."""
    from core.bot import remember_card

    chat_id = get_setting("service.group_chat_id")
    if chat_id:
        remember_card(str(chat_id), card)
    webhook = get_setting("service.group_webhook")
    configured = get_setting("wecom.webhook_keys") or {}
    if "wecom_webhook" in registry().notification_channels and webhook and \
            webhook in configured:
        notify(ctx, [], subject, _body(ticket), channels=("wecom_webhook",),
               url=TICKET_URL.format(id=ticket.id),
               payload={"msgtype": "template_card", "card": card.to_template_card()},
               dedupe_key=key, address=str(webhook), record=ticket)


def _sales_people(ticket: Ticket) -> list[User]:
    out = []
    if ticket.customer is not None and ticket.customer.owner is not None:
        out.append(ticket.customer.owner)
    out.append(links.sales_owner(ticket.order_id))
    owner_id = links.order_owner_id(ticket.order_id)
    if owner_id:
        out.append(db.session.get(User, owner_id))
    return [u for u in out if u is not None]


def managers() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), User.roles.any(Role.code == "manager"))))


def admins() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), User.roles.any(Role.code == "admin"))))


def complaint_handlers(ticket: Ticket) -> list[User]:
    """Seed 003 §3.2: a general complaint stays with service, a serious one brings in the
    supervisors, a major one the management as well."""
    if ticket.ticket_type != "complaint":
        return []
    if ticket.complaint_level == "major":
        return managers() + admins()
    if ticket.complaint_level == "serious":
        return managers()
    return []


def ticket_created(ctx: ServiceContext, ticket: Ticket) -> None:
    subject = f"【售后工单提醒】{ticket.ticket_no} {ticket.subject}"
    if ticket.complaint_level in ("serious", "major"):
        level = "重大投诉" if ticket.complaint_level == "major" else "严重投诉"
        subject = f"【{level}】{ticket.ticket_no} {ticket.subject}"
    card = _card(ticket, "新售后工单")
    key = f"service.created:{ticket.id}"
    people = _sales_people(ticket) + complaint_handlers(ticket)
    if ticket.assignee is not None:
        people.insert(0, ticket.assignee)
    _send(ctx, people, subject, ticket, key, card=card)
    _group(ctx, ticket, subject, card, key)


def ticket_offered(ctx: ServiceContext, ticket: Ticket, user: User) -> None:
    if ticket.offered_at is None:
        return
    subject = f"【派单】{ticket.ticket_no} {ticket.subject}，请接单"
    _send(ctx, [user], subject, ticket,
          f"service.offer:{ticket.id}:{user.id}:{ticket.offered_at.isoformat()}",
          card=_card(ticket, "派单", offer=True))


def ticket_changed(ctx: ServiceContext, ticket: Ticket, event: str,
                   extra_users: Iterable[User] = ()) -> None:
    texts = {"claim": "已被认领", "accept": "已接单", "transfer": "已转派",
             "collaborator": "添加了协作人", "resolve": "已解决", "reopen": "已重开"}
    subject = f"工单 {ticket.ticket_no} {texts.get(event, event)}"
    people = [ticket.assignee, *[c.user for c in ticket.collaborators], *extra_users]
    if event in ("claim", "resolve", "reopen"):
        people += _sales_people(ticket)
    _send(ctx, people, subject, ticket,
          f"service.{event}:{ticket.id}:{ctx.now.isoformat()}",
          card=_card(ticket, subject))


def ticket_escalated(ctx: ServiceContext, ticket: Ticket, *, automatic: bool) -> None:
    subject = (f"【SLA 超时】{ticket.ticket_no} {ticket.subject}" if automatic
               else f"【催办】{ticket.ticket_no} {ticket.subject}")
    people = [ticket.assignee, *managers()]
    _send(ctx, people, subject, ticket,
          f"service.escalate:{ticket.id}:{ticket.escalations}", card=_card(ticket, subject))


def needs_manager(ctx: ServiceContext, ticket: Ticket) -> None:
    subject = f"【待派单】{ticket.ticket_no} 没有可派的工程师"
    _send(ctx, managers(), subject, ticket, f"service.unassigned:{ticket.id}:"
          f"{ctx.now.isoformat()}")


def low_rating(ctx: ServiceContext, ticket: Ticket) -> None:
    subject = f"【差评回访】{ticket.ticket_no} 客户评分 {ticket.rating} 分"
    _send(ctx, [ticket.assignee, *managers()], subject, ticket,
          f"service.low_rating:{ticket.id}")
