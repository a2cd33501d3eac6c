"""What each chat is for (the chat registry): ``{chat id: purpose}`` kept in the setting
``core.chat_purposes``, edited on the administrator's 群聊用途 page.

A trigger two modules share (``#认领`` an opportunity or a ticket) means the command whose
``BotCommand.purpose`` is the chat's purpose: in the sales group (``sales``) the
opportunity, in the service group (``service``) the ticket. An explicit number in the text
still wins; a chat without a purpose falls back to its last card."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core import hooks
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from core.settings import set_setting

SETTING = "core.chat_purposes"
MAX_CHAT_ID = 128
# Words for the purposes modules declare (others are shown as they are).
LABELS = {"sales": "销售群", "service": "售后群", "warehouse": "仓库群"}


def chat_purposes() -> dict[str, str]:
    value = get_setting(SETTING) or {}
    return {str(k): str(v) for k, v in value.items() if v} if isinstance(value, dict) else {}


def chat_purpose(chat_id: str | None) -> str | None:
    return chat_purposes().get(chat_id) if chat_id else None


def known_purposes() -> list[str]:
    """The purposes the installed modules' commands declare, in registration order."""
    seen: dict[str, None] = {}
    registry = hooks.registry()
    for key, first in registry.bot_commands.items():
        for cmd in registry.bot_command_variants.get(key) or [first]:
            if cmd.purpose:
                seen.setdefault(cmd.purpose)
    return list(seen)


def purpose_label(purpose: str) -> str:
    return _(LABELS[purpose]) if purpose in LABELS else purpose


def known_chats(limit: int = 200) -> list[str]:
    """Chats the bot has posted cards in, and those already given a purpose."""
    from core.bot.models import BotChatContext

    seen = list(db.session.scalars(select(BotChatContext.chat_id).distinct()
                                   .order_by(BotChatContext.chat_id).limit(limit)))
    return sorted(set(seen) | set(chat_purposes()))


def set_chat_purpose(ctx: ServiceContext, chat_id: Any, purpose: Any) -> dict[str, str]:
    """Give ``chat_id`` a purpose (an empty one removes it); audited."""
    ctx.require("core.settings.manage")
    chat = str(chat_id or "").strip()
    if not chat or len(chat) > MAX_CHAT_ID or any(ch.isspace() for ch in chat):
        message = _("会话 ID 无效")
        raise ValidationError(message, fields={"chat_id": message})
    purpose = str(purpose or "").strip()
    if purpose and purpose not in known_purposes():
        message = _("未知的群聊用途")
        raise ValidationError(message, fields={"purpose": message})
    purposes = chat_purposes()
    before = purposes.get(chat)
    if purpose:
        purposes[chat] = purpose
    else:
        purposes.pop(chat, None)
    set_setting(SETTING, purposes)
    audit.record(ctx, "core_setting", "chat_purpose", chat,
                 {"purpose": [before, purpose or None]}, record_id=SETTING)
    return purposes
