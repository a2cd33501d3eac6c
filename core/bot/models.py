"""Core table of the bot: which record each card the bot posted in a chat was about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.db import utcnow
from core.extensions import db


class BotChatContext(db.Model):
    """A card posted in a chat: later commands without a reference apply to its record."""

    __tablename__ = "core_bot_chat_context"
    __table_args__ = (Index("ix_core_bot_chat_context_chat", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
