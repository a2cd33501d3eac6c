"""Pre-sales chat commands: #认领 #跟进 #报价 #成交 #丢单 #客户历史.

Each command names its opportunity (``#跟进 OPP-1023 已发方案``) or, without a number, acts
on the opportunity of the last card the bot posted in that chat. Every command calls the
same service as the web page and the API.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.bot import Card
from core.errors import ValidationError
from core.registration import BotCommand
from core.registration import CardAction
from modules.crm import queries
from modules.crm.cards import MODEL
from modules.crm.cards import opportunity_card
from modules.crm.models.opportunity import Opportunity
from modules.crm.services import opportunities as svc


def _resolve(ctx: Any, call: Any) -> tuple[Opportunity, str]:
    return call.resolve(lambda value: queries.get_opportunity(ctx, value))


def claim(ctx: Any, call: Any) -> Card:
    """#认领: the claim service itself tells who was faster (or 404 for others' records)."""
    ref, _rest = call.resolve(lambda value: value)
    return opportunity_card(svc.claim_opportunity(ctx, ref), source=_("已认领"))


def follow(ctx: Any, call: Any) -> str:
    opp, content = _resolve(ctx, call)
    if not content.strip():
        raise ValidationError(_("请写跟进内容，例如：#跟进 OPP-1023 已发送方案"))
    svc.follow_up(ctx, opp.id, content.strip())
    return _("已记录 %(number)s 的跟进：%(content)s", number=opp.number, content=content.strip())


def quote(ctx: Any, call: Any) -> str:
    opp, rest = _resolve(ctx, call)
    amount = rest.strip().split()[0] if rest.strip() else ""
    if not amount:
        raise ValidationError(_("请写报价金额，例如：#报价 OPP-1023 185000"))
    new = svc.add_quote(ctx, opp.id, amount)
    return _("%(number)s 已报价 ¥%(amount)s（当前报价）", number=opp.number,
             amount=f"{new.amount:,.2f}")


def won(ctx: Any, call: Any) -> Card:
    opp, _rest = _resolve(ctx, call)
    card = opportunity_card(svc.change_status(ctx, opp.id, "won"), source=_("已成交"))
    card.description = "；".join(ctx.extra.get("won_notes", [])) or card.description
    return card


def lost(ctx: Any, call: Any) -> str:
    opp, reason = _resolve(ctx, call)
    if not reason.strip():
        raise ValidationError(_("请写丢单原因，例如：#丢单 OPP-1023 价格高于竞品"))
    svc.change_status(ctx, opp.id, "lost", reason.strip())
    return _("%(number)s 已标记丢单：%(reason)s", number=opp.number, reason=reason.strip())


def history(ctx: Any, call: Any) -> str:
    if not call.args.strip():
        raise ValidationError(_("请写手机号，例如：#客户历史 13812345678"))
    customer, opps = queries.customer_history(ctx, call.args.strip())
    lines = [_("**%(name)s**（%(number)s，%(level)s）", name=customer.customer_name,
               number=customer.number, level=_(customer.level_label)),
             _("负责人：%(owner)s", owner=customer.owner.name if customer.owner else _("公海"))]
    lines += [f"> {o.number} {o.product_name} × {o.quantity} · {_(o.status_label)} · "
              f"¥{o.estimated_amount:,.2f}" for o in opps] or ["> " + _("暂无可见的商机")]
    return "\n".join(lines)


def claim_clicked(ctx: Any, click: Any) -> Card:
    """The 认领 button: the same service as #认领; the clicker's card updates."""
    return opportunity_card(svc.claim_opportunity(ctx, click.record_id()), source=_("已认领"))


def commands() -> list[BotCommand]:
    common = {"model": MODEL, "reference": "OPP-"}
    return [
        BotCommand("认领", claim, "crm.opportunity.claim", _l("认领群里发布的新商机"),
                   _l("#认领 [OPP-编号]"), **common),
        BotCommand("跟进", follow, "crm.opportunity.write", _l("记录商机跟进"),
                   _l("#跟进 [OPP-编号] 内容"), **common),
        BotCommand("报价", quote, "crm.opportunity.write", _l("给商机报价（成为当前报价）"),
                   _l("#报价 [OPP-编号] 金额"), **common),
        BotCommand("成交", won, "crm.opportunity.write", _l("标记商机成交"),
                   _l("#成交 [OPP-编号]"), **common),
        BotCommand("丢单", lost, "crm.opportunity.write", _l("标记丢单（需写原因）"),
                   _l("#丢单 [OPP-编号] 原因"), **common),
        BotCommand("客户历史", history, "crm.customer.read", _l("按手机号查看客户与商机"),
                   _l("#客户历史 手机号"),
                   extra={"slow": True}),
    ]


def card_actions() -> list[CardAction]:
    return [CardAction("crm.opportunity.claim", claim_clicked, "crm.opportunity.claim")]
