"""Chat context: the record of the most recent card the bot posted in a chat.

``#跟进 已发方案`` without ``OPP-…`` applies to the opportunity of the last opportunity card
in that chat. Transports call :func:`remember_card` whenever they post a card to a chat
(the dispatcher does it for cards it returns as replies).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy import select

from core.bot.messages import Card
from core.bot.models import BotChatContext
from core.extensions import db

KEEP_PER_CHAT = 50


@dataclass(frozen=True)
class RecordRef:
    """A record by table name and primary key (as a string)."""

    model: str
    record_id: str
    chat_id: str | None = None
    task_id: str | None = None


def remember_card(chat_id: str | None, card: Card) -> None:
    """Record that ``card`` was posted in ``chat_id`` (no-op without chat or record).

    Runs in the caller's transaction; keeps the last ``KEEP_PER_CHAT`` cards per chat.
    """
    if not chat_id or card.record is None:
        return
    model, record_id = card.record
    db.session.add(
        BotChatContext(
            chat_id=chat_id, model=model, record_id=str(record_id), task_id=card.ensure_task_id()
        )
    )
    db.session.flush()
    old = (
        select(BotChatContext.id)
        .where(BotChatContext.chat_id == chat_id)
        .order_by(BotChatContext.id.desc())
        .offset(KEEP_PER_CHAT)
    )
    stale = list(db.session.scalars(old))
    if stale:
        db.session.execute(delete(BotChatContext).where(BotChatContext.id.in_(stale)))


def _ref(row: BotChatContext | None) -> RecordRef | None:
    if row is None:
        return None
    return RecordRef(row.model, row.record_id, row.chat_id, row.task_id)


def last_record(chat_id: str | None, model: str | None = None) -> RecordRef | None:
    """The record of the most recent card in ``chat_id`` (of ``model`` when given)."""
    if not chat_id:
        return None
    stmt = select(BotChatContext).where(BotChatContext.chat_id == chat_id)
    if model is not None:
        stmt = stmt.where(BotChatContext.model == model)
    return _ref(db.session.scalar(stmt.order_by(BotChatContext.id.desc()).limit(1)))


def record_for_task(task_id: str | None) -> RecordRef | None:
    """The record of the card with ``task_id`` (for clicks whose key carries no id)."""
    if not task_id:
        return None
    stmt = (
        select(BotChatContext)
        .where(BotChatContext.task_id == task_id)
        .order_by(BotChatContext.id.desc())
        .limit(1)
    )
    return _ref(db.session.scalar(stmt))
