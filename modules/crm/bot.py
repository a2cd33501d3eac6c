"""Pre-sales chat commands: #认领 #跟进 #报价 #成交 #丢单 #客户历史.

Each command names its opportunity (``#跟进 OPP-1023 已发方案``) or, without a number, acts
on the opportunity of the last card the bot posted in that chat when it is open and the
sender may act on it; otherwise the sender gets his candidates numbered and answers with
the number (``1`` or ``#跟进 1``). Amounts are read as people type them (``18.5万``,
``¥185,000``). Every command calls the same service as the web page and the API.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.bot import Card
from core.bot import find_amount
from core.bot import last_record
from core.bot.parser import remove_span
from core.errors import ValidationError
from core.extensions import db
from core.registration import BotCommand
from core.registration import CardAction
from modules.crm import queries
from modules.crm.cards import MODEL
from modules.crm.cards import opportunity_card
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import Opportunity
from modules.crm.services import opportunities as svc

CHOICES = 9  # candidates listed for a bare command


def _label(opp: Opportunity) -> str:
    return (f"{opp.number} {opp.product_name} × {opp.quantity} · "
            f"{opp.customer.customer_name} · {_(opp.status_label)}")


def _actionable(ctx: Any, opp: Opportunity) -> bool:
    """An open opportunity the sender may change (his own; a manager: his team's)."""
    if not opp.is_open or opp.owner_id is None:
        return False
    return opp.owner_id == ctx.actor_id or ctx.can("crm.opportunity.assign")


def _mine(ctx: Any) -> list[tuple[int, str]]:
    """The sender's open opportunities, most recently changed first (a manager owning none:
    the open ones of his team)."""
    base = queries.opportunity_select(ctx).where(Opportunity.status.in_(OPEN_STATUSES))
    rows = list(db.session.scalars(base.where(Opportunity.owner_id == ctx.actor_id)
                                   .order_by(Opportunity.updated_at.desc(),
                                             Opportunity.id.desc()).limit(CHOICES)))
    if not rows and ctx.can("crm.opportunity.assign"):
        rows = list(db.session.scalars(base.where(Opportunity.owner_id.is_not(None))
                                       .order_by(Opportunity.updated_at.desc(),
                                                 Opportunity.id.desc()).limit(CHOICES)))
    return [(o.id, _label(o)) for o in rows]


def _resolve(ctx: Any, call: Any) -> tuple[Opportunity, str]:
    """The opportunity named, else the chat's last card when the sender may act on it,
    else a numbered list of his open opportunities to answer with the number."""
    empty = _("您没有进行中的商机。请写明编号，例如：#%(trigger)s OPP-1023",
              trigger=call.trigger)
    last = last_record(call.chat_id, MODEL)
    if last is not None and last.record_id.isdigit():
        shown = db.session.scalar(queries.opportunity_select(ctx).where(
            Opportunity.id == int(last.record_id)))
        if shown is not None and shown.owner_id is None and shown.is_open:
            empty = _("%(number)s 尚未认领，请先认领（#认领）", number=shown.number)
    return call.resolve(lambda value: queries.get_opportunity(ctx, value),
                        usable=lambda opp: _actionable(ctx, opp),
                        candidates=lambda: _mine(ctx), empty=empty)


def _unclaimed(ctx: Any) -> list[tuple[int, str]]:
    rows = db.session.scalars(
        queries.opportunity_select(ctx)
        .where(Opportunity.owner_id.is_(None), Opportunity.status.in_(OPEN_STATUSES))
        .order_by(Opportunity.id.desc()).limit(CHOICES))
    return [(o.id, _label(o)) for o in rows]


def claim(ctx: Any, call: Any) -> Card:
    """#认领: the named opportunity (the claim service tells who was faster, or 404 for
    others' records), else the chat's last card while it waits to be claimed, else the
    unclaimed ones numbered."""
    last = last_record(call.chat_id, MODEL)
    gone = (db.session.get(Opportunity, int(last.record_id))
            if last is not None and last.record_id.isdigit() else None)
    empty = _("目前没有待认领的商机。")
    if gone is not None and gone.owner_id not in (None, ctx.actor_id) \
            and svc.was_claimed(gone.id):
        empty = _("%(number)s 已被%(name)s认领", number=gone.number,
                  name=gone.owner.name if gone.owner else _("他人"))
    target, _rest = call.resolve(
        lambda value: value,
        by_id=lambda value: db.session.get(Opportunity, int(value)),
        usable=lambda opp: opp.owner_id is None and opp.is_open,
        candidates=lambda: _unclaimed(ctx), empty=empty)
    ref = target.id if isinstance(target, Opportunity) else target
    return opportunity_card(svc.claim_opportunity(ctx, ref), source=_("已认领"))


def follow(ctx: Any, call: Any) -> str:
    opp, content = _resolve(ctx, call)
    if not content.strip():
        raise ValidationError(_("请写跟进内容，例如：#跟进 OPP-1023 已发送方案"))
    svc.follow_up(ctx, opp.id, content.strip())
    return _("已记录 %(number)s 的跟进：%(content)s", number=opp.number, content=content.strip())


def quote(ctx: Any, call: Any) -> str:
    """#报价 [OPP-1023] 18.5万 [说明]: amounts as people type them (万, 元, ¥, commas)."""
    opp, rest = _resolve(ctx, call)
    found = find_amount(rest)
    if found is None:
        raise ValidationError(_("请写报价金额，例如：#报价 OPP-1023 18.5万（或 185000、¥185,000）"))
    note = remove_span(rest, found.span).strip() or None
    new = svc.add_quote(ctx, opp.id, found.value, note=note)
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
    common = {"model": MODEL, "reference": "OPP-", "purpose": "sales"}
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
