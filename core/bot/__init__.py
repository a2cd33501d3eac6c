"""The chat bot, free of any transport: commands, card buttons, replies and cards.

Registering a command (in ``modules/<name>/hooks.py``)::

    from core import hookimpl
    from core.bot import Card, CardButton, CommandCall, CardClick
    from core.registration import BotCommand, CardAction

    @hookimpl
    def register_bot_commands():
        return [BotCommand("跟进", follow_up, permission="crm.opportunity.write",
                           usage="#跟进 [OPP-编号] 内容", help=_l("记录跟进"),
                           model="crm_opportunity", reference="OPP-")]

    def follow_up(ctx, call: CommandCall):
        opp, content = call.resolve(lambda value: get_opportunity(ctx, int(value)))
        if not content:
            raise ValidationError("请写跟进内容，例如：#跟进 已发方案")
        add_follow_up(ctx, opp, content)          # the same service the web calls
        return f"已记录 OPP-{opp.id} 的跟进。"

Triggers may be written with or without ``#``; ``model`` (table name) and ``reference``
(prefix) say which record the command acts on. Two modules may share a trigger (``#认领``
an opportunity or a ticket) when each declares its ``model``: the dispatcher picks the one
whose reference is in the text, else the one of the chat's last card, else the only one
the user may use. ``help``/``usage`` may be lazy strings (``_l``) for translation.

The handler runs inside ``unit_of_work(ctx)`` with ``ctx.source == "bot"`` and
``ctx.actor`` the sender, so audit rows say ``bot``; it must not commit. The command's
``permission`` is checked before (denied → "无权限：…" with the permission's label). Raise
``core.errors`` errors for refusals: their message is the reply and the transaction rolls
back. Any other exception is logged and answered with an apology, never a traceback.

``call`` (:class:`CommandCall`) carries ``args`` (raw text, Chinese punctuation kept),
``argv`` (NFKC tokens: ``＃报价 １８５０００`` → ``["185000"]``), ``mentions`` /
``mentioned_user()`` (``@李工`` by WeCom userid or display name), ``split_reference()`` /
``resolve()`` (``OPP-1023`` given or, without one, the record of the last card the bot
posted in the chat) and ``sender``. ``resolve(..., usable=, candidates=)`` acts on the
last card only when the sender may act on its record, and otherwise lists the sender's
candidates numbered, answerable with ``1`` or ``#跟进 1`` (:mod:`core.bot.choice`).
Amounts as people type them ("18.5万", "¥185,000") are read by :func:`find_amount` /
:func:`parse_amount`. Return a :class:`TextReply`, :class:`MarkdownReply`,
:class:`CardReply`, a :class:`Card`, a ``str`` or ``None`` (→ "已完成。"). A returned card
with ``record=(model, id)`` becomes the chat's context for later commands.

Cards and buttons::

    Card(title="中央空调 10 台", source="新商机", emphasis=("预计金额", "¥185,000.00"),
         fields=[("客户", "ABC公司"), ("编号", "OPP-1023")],
         url=url_for("crm.opportunity", id=opp.id, _external=True),
         buttons=[CardButton.action("认领", "crm.opportunity.claim", opp.id),
                  CardButton.link("查看", url)],
         record=("crm_opportunity", opp.id))

    @hookimpl
    def register_card_actions():
        return [CardAction("crm.opportunity.claim", claim_clicked,
                           permission="crm.opportunity.claim")]

    def claim_clicked(ctx, click: CardClick):
        opp = claim_opportunity(ctx, int(click.record_id()))   # same service as #认领
        return opp_card(opp, claimed=True)                       # the updated card

A module that posts a card to a chat itself (a push) calls
:func:`remember_card(chat_id, card) <core.bot.context.remember_card>` in the same
transaction. Transports call :func:`dispatch` / :func:`dispatch_card_action`.
"""

from __future__ import annotations

from core.bot.context import RecordRef
from core.bot.context import last_record
from core.bot.context import record_for_task
from core.bot.context import remember_card
from core.bot.dispatcher import CardClick
from core.bot.dispatcher import CommandCall
from core.bot.dispatcher import Mention
from core.bot.dispatcher import dispatch
from core.bot.dispatcher import dispatch_card_action
from core.bot.dispatcher import help_text
from core.bot.messages import Card
from core.bot.messages import CardButton
from core.bot.messages import CardReply
from core.bot.messages import IncomingMessage
from core.bot.messages import MarkdownReply
from core.bot.messages import Reply
from core.bot.messages import TextReply
from core.bot.parser import Amount
from core.bot.parser import Reference
from core.bot.parser import find_amount
from core.bot.parser import parse_amount
from core.bot.parser import parse_reference
from core.bot.parser import parse_text

__all__ = [
    "Amount",
    "Card",
    "CardButton",
    "CardClick",
    "CardReply",
    "CommandCall",
    "IncomingMessage",
    "MarkdownReply",
    "Mention",
    "RecordRef",
    "Reference",
    "Reply",
    "TextReply",
    "dispatch",
    "dispatch_card_action",
    "find_amount",
    "help_text",
    "last_record",
    "parse_amount",
    "parse_reference",
    "parse_text",
    "record_for_task",
    "remember_card",
]
