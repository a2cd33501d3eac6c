"""After-sales chat commands (seed 000 §4.2–4.3): #认领 #转派 @李工 #协作 @张工 #进度 50%
#已解决 #需要回访 #催办 #接单 #拒单 #我的工单, and the card buttons.

A command names its ticket (``#进度 AS20240202123456ABC 50%``) or, without a number, acts
on the ticket of the last card the bot posted in the chat. ``#认领`` is shared with crm's
opportunities: the dispatcher picks the ticket command when the text carries an ``AS…``
number or the chat's last card is a ticket. Every command calls the same service as the
web page and the API.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import ValidationError
from core.registration import BotCommand
from core.registration import CardAction
from modules.service.cards import MODEL
from modules.service.cards import ticket_card
from modules.service.services import tickets as svc

REFERENCE = "AS"
_MENTION = re.compile(r"[@＠]\S+")
_PERCENT = re.compile(r"(\d{1,3})\s*[%％]?")


def _lookup(ctx: Any) -> Any:
    return lambda value: svc.get_ticket(ctx, REFERENCE + value)


def _resolve(ctx: Any, call: Any) -> tuple[Any, str]:
    ticket, rest = call.resolve(_lookup(ctx), by_id=lambda rid: svc.get_ticket(ctx, rid))
    return ticket, _MENTION.sub("", rest).strip()


def claim(ctx: Any, call: Any) -> Any:
    """#认领: the claim service itself tells who was faster (the ticket was announced)."""
    ref, _rest = call.resolve(lambda value: REFERENCE + value, by_id=lambda rid: rid)
    return ticket_card(svc.claim_ticket(ctx, ref), source=_("已认领"))


def transfer(ctx: Any, call: Any) -> str:
    user = call.mentioned_user()
    ticket, reason = _resolve(ctx, call)
    svc.transfer_ticket(ctx, ticket.id, user.id, reason)
    return _("%(no)s 已转派给 %(name)s", no=ticket.ticket_no, name=user.name)


def collaborate(ctx: Any, call: Any) -> str:
    users = call.mentioned_users()
    if not users:
        raise ValidationError(_("请 @ 一位同事，例如：%(usage)s", usage="#协作 @张工"))
    ticket, _rest = _resolve(ctx, call)
    for user in users:
        svc.add_collaborator(ctx, ticket.id, user.id)
    return _("已添加协作人：%(names)s（%(no)s）", names="、".join(u.name for u in users),
             no=ticket.ticket_no)


def progress(ctx: Any, call: Any) -> str:
    ticket, rest = _resolve(ctx, call)
    match = _PERCENT.match(rest)
    if match is None:
        raise ValidationError(_("请写进度百分比，例如：#进度 50%"))
    note = rest[match.end():].strip()
    svc.update_progress(ctx, ticket.id, match.group(1), note)
    return _("%(no)s 进度已更新为 %(p)s%%", no=ticket.ticket_no, p=ticket.progress)


def resolved(ctx: Any, call: Any) -> str:
    ticket, note = _resolve(ctx, call)
    svc.resolve_ticket(ctx, ticket.id, {"note": note})
    return _("%(no)s 已解决，已向客户发送满意度调查", no=ticket.ticket_no)


def revisit(ctx: Any, call: Any) -> str:
    ticket, note = _resolve(ctx, call)
    svc.mark_revisit(ctx, ticket.id, note)
    return _("%(no)s 已标记需要回访", no=ticket.ticket_no)


def urge(ctx: Any, call: Any) -> str:
    ticket, note = _resolve(ctx, call)
    svc.escalate(ctx, ticket.id, note)
    return _("已催办 %(no)s，已提醒负责人和主管", no=ticket.ticket_no)


def accept(ctx: Any, call: Any) -> Any:
    ticket, _rest = _resolve(ctx, call)
    return ticket_card(svc.accept_ticket(ctx, ticket.id), source=_("已接单"))


def decline(ctx: Any, call: Any) -> str:
    ticket, reason = _resolve(ctx, call)
    if not reason:
        raise ValidationError(_("请写拒单原因，例如：#拒单 今天在外地"))
    svc.decline_ticket(ctx, ticket.id, reason)
    return _("已拒绝 %(no)s，系统将派给下一位工程师", no=ticket.ticket_no)


def mine(ctx: Any, call: Any) -> str:
    from modules.service.models import PRIORITIES
    from modules.service.models import STATUSES
    from modules.service.sla import to_local

    rows = svc.my_tickets(ctx, limit=10)
    if not rows:
        return _("您当前没有未完成的工单。")
    lines = [_("**我的工单**（%(n)s）", n=len(rows))]
    for t in rows:
        due = ""
        if t.resolution_due_at is not None:
            due = " · " + _("截止 %(at)s", at=to_local(t.resolution_due_at).strftime("%m-%d %H:%M"))
        lines.append(f"> {t.ticket_no} {t.subject} · {_(STATUSES.get(t.status, t.status))} · "
                     f"{_(PRIORITIES.get(t.priority, t.priority))} · {t.progress}%{due}")
    return "\n".join(lines)


TYPE_WORDS = {"维修": "repair", "保养": "maintenance", "投诉": "complaint", "退货": "return",
              "安装": "installation", "咨询": "inquiry"}


def _customer(ctx: Any, who: str) -> Any:
    """A visible customer by CUS- number, phone or exact name (record rules apply)."""
    from sqlalchemy import or_
    from sqlalchemy import select

    from core.errors import NotFoundError
    from core.extensions import db
    from modules.crm.models.customer import Customer
    from modules.crm.models.customer import parse_customer_number
    from modules.crm.validation import normalize_phone

    number = parse_customer_number(who)
    if number is not None:
        where = Customer.id == number
    else:
        where = or_(Customer.phone == normalize_phone(who), Customer.customer_name == who)
    found = db.session.scalars(ctx.scoped(select(Customer), Customer).where(where).limit(2)).all()
    if len(found) != 1:
        raise NotFoundError(_("找不到客户“%(who)s”，请用手机号或客户编号", who=who))
    return found[0]


def report(ctx: Any, call: Any) -> Any:
    """``#报修 13800138000 [维修|保养|投诉…] 3楼空调制冷不好``: a ticket for that customer
    (by phone, CUS- number or exact name), its project matched, dispatched; the reply is its
    card, so ``#认领`` in the chat then means it."""
    words = call.args.split()
    if len(words) < 2:
        raise ValidationError(_("请写客户和问题，例如：#报修 13800138000 3楼空调制冷不好"))
    who, rest = words[0], words[1:]
    customer = _customer(ctx, who)
    ticket_type = TYPE_WORDS.get(rest[0], "repair") if rest else "repair"
    if rest and rest[0] in TYPE_WORDS:
        rest = rest[1:]
    subject = " ".join(rest).strip()
    if not subject:
        raise ValidationError(_("请写问题描述，例如：#报修 13800138000 3楼空调制冷不好"))
    ticket = svc.create_ticket(ctx, {"customer_id": customer.id, "ticket_type": ticket_type,
                                     "subject": subject[:200], "description": subject,
                                     "channel": "bot"})
    return ticket_card(ticket, source=_("新售后工单"))


# ------------------------------------------------------------------------------ buttons
def claim_clicked(ctx: Any, click: Any) -> Any:
    return ticket_card(svc.claim_ticket(ctx, click.record_id()), source=_("已认领"))


def accept_clicked(ctx: Any, click: Any) -> Any:
    return ticket_card(svc.accept_ticket(ctx, click.record_id()), source=_("已接单"))


def decline_clicked(ctx: Any, click: Any) -> Any:
    ticket = svc.decline_ticket(ctx, click.record_id(), _("在卡片上拒单"))
    return ticket_card(ticket, source=_("已拒单"))


def resolve_clicked(ctx: Any, click: Any) -> Any:
    return ticket_card(svc.resolve_ticket(ctx, click.record_id()), source=_("已解决"))


def commands() -> list[BotCommand]:
    common = {"model": MODEL, "reference": REFERENCE, "purpose": "service"}
    return [
        BotCommand("认领", claim, "service.ticket.claim", _l("认领群里发布的售后工单"),
                   _l("#认领 [AS工单号]"), **common),
        BotCommand("转派", transfer, "service.ticket.write", _l("把工单转派给其他工程师"),
                   _l("#转派 [AS工单号] @同事 [原因]"), **common),
        BotCommand("协作", collaborate, "service.ticket.write", _l("添加协作人员"),
                   _l("#协作 [AS工单号] @同事"), **common),
        BotCommand("进度", progress, "service.ticket.write", _l("更新工单处理进度"),
                   _l("#进度 [AS工单号] 50% [说明]"), **common),
        BotCommand("已解决", resolved, "service.ticket.write", _l("标记工单已解决"),
                   _l("#已解决 [AS工单号] [说明]"), **common),
        BotCommand("需要回访", revisit, "service.ticket.write", _l("标记需要客户回访"),
                   _l("#需要回访 [AS工单号]"), **common),
        BotCommand("催办", urge, "service.ticket.read", _l("催办工单（提醒负责人和主管）"),
                   _l("#催办 [AS工单号] [说明]"), **common),
        BotCommand("接单", accept, "service.ticket.write", _l("接受派给您的工单"),
                   _l("#接单 [AS工单号]"), **common),
        BotCommand("拒单", decline, "service.ticket.write", _l("拒绝派给您的工单（需写原因）"),
                   _l("#拒单 [AS工单号] 原因"), **common),
        BotCommand("报修", report, "service.ticket.create", _l("为客户登记售后工单"),
                   _l("#报修 客户手机号 [维修|保养|投诉] 问题描述"), **common),
        BotCommand("我的工单", mine, "service.ticket.read", _l("查询自己负责的工单"),
                   _l("#我的工单")),
    ]


def card_actions() -> list[CardAction]:
    return [
        CardAction("service.ticket.claim", claim_clicked, "service.ticket.claim", _l("认领")),
        CardAction("service.ticket.accept", accept_clicked, "service.ticket.write", _l("接单")),
        CardAction("service.ticket.decline", decline_clicked, "service.ticket.write",
                   _l("拒单")),
        CardAction("service.ticket.resolve", resolve_clicked, "service.ticket.write",
                   _l("已解决")),
    ]
