"""The chat bot, free of any transport: commands, card buttons, replies and cards.

How a module registers commands and card buttons, what a handler receives and may return,
and how cards become a chat's context: ``docs/bot.md``. Transports call :func:`dispatch` /
:func:`dispatch_card_action`.
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
from core.bot.parser import Reference
from core.bot.parser import parse_reference
from core.bot.parser import parse_text

__all__ = [
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
    "help_text",
    "last_record",
    "parse_reference",
    "parse_text",
    "record_for_task",
    "remember_card",
]
