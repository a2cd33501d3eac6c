"""Push a record card to WeCom through the outbox: to people (app message with buttons) or
to a group robot (a text_notice card, since webhooks take no buttons)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.bot import Card
from core.notify import notify
from core.services import ServiceContext


def push_card(ctx: ServiceContext, card: Card, *, users: Iterable[Any] = (),
              webhook: str | None = None, dedupe_key: str | None = None) -> None:
    """Queue ``card`` for ``users`` (their WeCom accounts) and/or the ``webhook`` group."""
    payload = {"msgtype": "template_card", "card": card.to_template_card()}
    users = list(users)
    if users:
        notify(ctx, users, card.title, card.description, channels=("wecom",), url=card.url,
               payload=payload, dedupe_key=dedupe_key)
    if webhook:
        notify(ctx, [], card.title, card.description, channels=("wecom_webhook",),
               url=card.url, payload=payload, dedupe_key=dedupe_key, address=webhook)
