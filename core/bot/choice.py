"""A bare command that cannot tell its record: the sender's candidates, numbered.

``#跟进 已发送方案`` without ``OPP-…`` acts on the chat's last card only when the sender may
act on that record (see :meth:`core.bot.CommandCall.resolve` with ``candidates``).
Otherwise the bot lists the sender's candidate records, numbered, and keeps the list for
the sender in that chat for :data:`KEEP_MINUTES`: the reply ``1`` (or ``#跟进 1``) runs the
command on the first one, with the text typed the first time.

The list is kept in ``core_bot_chat_context`` under a per-sender key (rows of a chat id no
transport uses), one row per candidate: ``model`` holds ``trigger`` and the model,
``record_id`` the candidate and ``task_id`` the text typed after the command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy import select

from core.bot.models import BotChatContext
from core.db import utcnow
from core.errors import UserError
from core.extensions import db

KEEP_MINUTES = 30
MAX_CHOICES = 9
MAX_KEPT_TEXT = 120  # what a task_id column holds, with its marker
_TEXT_MARK = "args:"


class ChoiceNeeded(UserError):
    """Raised by ``call.resolve`` when the sender must pick the record: the dispatcher
    keeps ``options`` (``(record_id, label)``) for the sender and answers the list."""

    def __init__(self, trigger: str, model: str, options: Sequence[tuple[str, str]],
                 rest: str, empty: str = "", example: str = "") -> None:
        self.trigger, self.model, self.rest = trigger, model, rest
        self.options = list(options)[:MAX_CHOICES]
        super().__init__(self._text(empty, example))

    def _text(self, empty: str, example: str) -> str:
        if not self.options:
            return empty or _("没有可以操作的记录。请写明编号，例如：%(example)s",
                              example=example or f"#{self.trigger} 1023")
        keep_text = len(self.rest) <= MAX_KEPT_TEXT
        lines = [_("请选择要操作的记录，回复编号即可（例如“1”或“#%(trigger)s 1”）：",
                    trigger=self.trigger) if keep_text else
                 _("请选择要操作的记录，回复“#%(trigger)s 编号 内容”：", trigger=self.trigger)]
        lines += [f"{n}. {label}" for n, (_id, label) in enumerate(self.options, start=1)]
        return "\n".join(lines)


@dataclass(frozen=True)
class PendingChoice:
    """The list the sender was last asked to choose from in a chat."""

    trigger: str
    model: str
    record_ids: tuple[str, ...]
    rest: str

    def pick(self, token: str) -> str | None:
        """The record id numbered ``token`` (``"1"``, ``"１"``), or None."""
        number = token.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        if number.isdigit() and 1 <= int(number) <= len(self.record_ids):
            return self.record_ids[int(number) - 1]
        return None


def _key(user_id: int, chat_id: str | None) -> str:
    digest = hashlib.sha256(f"{user_id}|{chat_id or ''}".encode()).hexdigest()[:40]
    return f"choice:{digest}"


def keep(user_id: int, chat_id: str | None, choice: ChoiceNeeded) -> None:
    """Keep ``choice``'s options for the sender (in the caller's transaction)."""
    forget(user_id, chat_id)
    if not choice.options:
        return
    rest = choice.rest if len(choice.rest) <= MAX_KEPT_TEXT else ""
    for record_id, _label in choice.options:
        db.session.add(BotChatContext(
            chat_id=_key(user_id, chat_id), model=f"{choice.trigger}\t{choice.model}"[:64],
            record_id=str(record_id), task_id=_TEXT_MARK + rest))
    db.session.flush()


def pending(user_id: int, chat_id: str | None) -> PendingChoice | None:
    """The sender's open list in the chat (younger than :data:`KEEP_MINUTES`), or None."""
    rows = list(db.session.scalars(
        select(BotChatContext).where(BotChatContext.chat_id == _key(user_id, chat_id))
        .order_by(BotChatContext.id)))
    if not rows:
        return None
    created = rows[0].created_at
    if created is not None and created < utcnow() - timedelta(minutes=KEEP_MINUTES):
        return None
    trigger, _tab, model = rows[0].model.partition("\t")
    rest = (rows[0].task_id or "").removeprefix(_TEXT_MARK)
    return PendingChoice(trigger, model, tuple(r.record_id for r in rows), rest)


def forget(user_id: int, chat_id: str | None) -> None:
    db.session.execute(delete(BotChatContext).where(
        BotChatContext.chat_id == _key(user_id, chat_id)))
