"""What goes into the bot dispatcher and what comes out of it, free of any transport.

A transport (the WeCom callbacks, ``manage.py bot say``) builds an :class:`IncomingMessage`,
hands it to :func:`core.bot.dispatcher.dispatch` and maps the returned reply onto its wire
format: :class:`TextReply` → text, :class:`MarkdownReply` → markdown, :class:`CardReply` →
``template_card`` (:meth:`Card.to_template_card`) where cards are possible, else
:meth:`Card.to_markdown`.
"""

from __future__ import annotations

import re
import secrets
from contextlib import AbstractContextManager
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from flask_babel import force_locale
from flask_babel import get_locale
from flask_babel import gettext as _

ChatType = Literal["group", "single"]

_TASK_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_\-@]")
MAX_BUTTONS = 6
MAX_FIELDS = 6


@dataclass
class IncomingMessage:
    """One chat message as the transport received it.

    ``text`` is the raw text (a leading ``@机器人`` mention is stripped by the parser);
    ``mentions`` are WeCom userids the transport already knows were mentioned (optional;
    ``@名字`` in the text is resolved as well); ``raw`` keeps the transport's payload.
    """

    text: str
    sender_userid: str
    chat_id: str | None = None
    chat_type: ChatType = "group"
    msg_id: str | None = None
    mentions: list[str] = field(default_factory=list)
    raw: Any = None

    @property
    def context_id(self) -> str | None:
        """The chat whose last card commands refer to: ``chat_id``, or for a single chat
        without one, ``single:<userid>``."""
        if self.chat_id:
            return self.chat_id
        if self.chat_type == "single" and self.sender_userid:
            return f"single:{self.sender_userid}"
        return None


@dataclass(frozen=True)
class TextReply:
    """Plain text."""

    text: str
    kind: Literal["text"] = "text"

    def to_text(self) -> str:
        return self.text


@dataclass(frozen=True)
class MarkdownReply:
    """WeCom-flavoured markdown (``**bold**``, ``[link](url)``, ``> quote``)."""

    markdown: str
    kind: Literal["markdown"] = "markdown"

    def to_text(self) -> str:
        return self.markdown


@dataclass
class CardButton:
    """A card button. ``key`` comes back in the click event (``EventKey``); build it with
    :meth:`action` so the dispatcher can route it to a :class:`core.registration.CardAction`.
    A button with ``url`` opens the page instead of calling back. ``style`` is WeCom's 1–4.
    """

    text: str
    key: str = ""
    style: int = 1
    url: str | None = None

    @classmethod
    def action(cls, text: str, action: str, arg: Any = None, style: int = 1) -> CardButton:
        """A button calling card action ``action`` with ``arg`` (e.g. the record id):
        ``CardButton.action("认领", "crm.opportunity.claim", opp.id)``."""
        key = action if arg is None or arg == "" else f"{action}:{arg}"
        return cls(text=text, key=key, style=style)

    @classmethod
    def link(cls, text: str, url: str) -> CardButton:
        return cls(text=text, url=url)


@dataclass
class Card:
    """A record card: title, one emphasised value, key fields, a link to the
    record's page and buttons such as 认领 / 查看.

    ``emphasis`` is ``(label, value)``, e.g. ``("优先级", "高")``. ``record`` is
    ``(model, id)`` (model = the table name, e.g. ``"crm_opportunity"``): when the bot posts
    the card in a chat, later commands without a reference apply to that record.
    ``task_id`` identifies the card for click events; one is generated when needed.
    """

    title: str
    description: str = ""
    emphasis: tuple[str, str] | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    url: str | None = None
    buttons: list[CardButton] = field(default_factory=list)
    record: tuple[str, Any] | None = None
    task_id: str | None = None
    source: str | None = None
    # The language its texts were written in (the reader's: the bot runs a command in its
    # sender's); the card's own words ("查看详情") follow it when it is sent, later.
    locale: str | None = field(default_factory=lambda: _current_locale())

    def ensure_task_id(self) -> str:
        """The card's task id (generated once: ≤128 chars of ``[A-Za-z0-9_-@]``)."""
        if not self.task_id:
            base = "tdm"
            if self.record is not None:
                base += f"-{self.record[0]}-{self.record[1]}"
            self.task_id = _TASK_ID_UNSAFE.sub("_", base)[:110] + "-" + secrets.token_hex(6)
        return self.task_id

    def _own_language(self) -> AbstractContextManager[Any]:
        return force_locale(self.locale) if self.locale else nullcontext()

    def to_markdown(self) -> str:
        """The card as markdown, for channels and consoles without template cards."""
        with self._own_language():
            return self._markdown()

    def _markdown(self) -> str:
        lines = []
        if self.source:
            lines.append(f'<font color="comment">{self.source}</font>')
        lines.append(f"**{self.title}**")
        if self.description:
            lines.append(self.description)
        if self.emphasis:
            lines.append(f"{self.emphasis[0]}{_('：')}**{self.emphasis[1]}**")
        lines.extend(f"> {key}{_('：')}{value}" for key, value in self.fields)
        if self.url:
            lines.append(f"[{_('查看详情')}]({self.url})")
        actions = [b.text for b in self.buttons if not b.url]
        if actions:
            lines.append(_("操作：") + " / ".join(actions))
        return "\n".join(lines)

    def to_template_card(self) -> dict[str, Any]:
        """The WeCom ``template_card`` object (without the ``msgtype`` envelope).

        With buttons: ``button_interaction`` (``task_id`` required, at most 6 buttons);
        without: ``text_notice`` (WeCom requires its ``card_action``, so set ``url``).
        Horizontal fields are capped at 6, as WeCom allows.
        """
        card: dict[str, Any] = {
            "card_type": "button_interaction" if self.buttons else "text_notice",
            "main_title": {"title": self.title},
        }
        if self.source:
            card["source"] = {"desc": self.source}
        if self.emphasis:
            # WeCom: ``title`` is the emphasised value, ``desc`` the label under it.
            card["emphasis_content"] = {
                "title": str(self.emphasis[1]),
                "desc": str(self.emphasis[0]),
            }
        if self.description:
            card["sub_title_text"] = self.description
        if self.fields:
            card["horizontal_content_list"] = [
                {"keyname": str(k), "value": str(v)} for k, v in self.fields[:MAX_FIELDS]
            ]
        if self.url:
            card["card_action"] = {"type": 1, "url": self.url}
            with self._own_language():
                card["jump_list"] = [{"type": 1, "title": _("查看详情"), "url": self.url}]
        if self.buttons:
            card["button_list"] = [_button_json(b) for b in self.buttons[:MAX_BUTTONS]]
        card["task_id"] = self.ensure_task_id()
        return card


def _current_locale() -> str | None:
    locale = get_locale()  # None outside an app context
    return str(locale) if locale is not None else None


def _button_json(button: CardButton) -> dict[str, Any]:
    out: dict[str, Any] = {"text": button.text, "style": button.style}
    if button.url:
        out.update(type=1, url=button.url)
    else:
        out["key"] = button.key
    return out


@dataclass(frozen=True)
class CardReply:
    """A card; consoles and text-only channels show :meth:`Card.to_markdown`."""

    card: Card
    kind: Literal["card"] = "card"

    def to_text(self) -> str:
        return self.card.to_markdown()


Reply = TextReply | MarkdownReply | CardReply


def as_reply(value: Any) -> Reply:
    """Coerce what a handler returned: a reply, a :class:`Card`, a string or ``None``."""
    if isinstance(value, TextReply | MarkdownReply | CardReply):
        return value
    if isinstance(value, Card):
        return CardReply(value)
    if value is None:
        return TextReply(_("已完成。"))
    return TextReply(str(value))
