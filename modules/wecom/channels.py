"""WeCom notification channels for the outbox.

- ``wecom``: an app message to the recipient's WeCom userid (markdown by default; the
  payload may carry ``msgtype`` ``text`` / ``markdown`` / ``textcard`` / ``template_card``
  with ``card``). WeCom's answer is kept in ``wecom_sent_message``; a partial failure
  (``invaliduser``) is written on the notification, which is not retried for it.
- ``wecom_webhook``: a group robot push; ``address`` names the webhook (``sales``,
  ``service``, keys from ``WECOM_WEBHOOK_KEYS``). The robot takes 20 messages a minute: past
  that the message waits in the outbox (``RetryLater``) instead of being dropped.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from threading import Lock
from typing import Any

import requests
from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete
from sqlalchemy import update

from core.db import utcnow
from core.extensions import db
from core.notify.channels import LOGGED
from core.notify.channels import ChannelError
from core.notify.channels import RetryLater
from core.notify.channels import Undeliverable
from modules.wecom.client import WeComAPIError
from modules.wecom.client import WeComClient
from modules.wecom.client import redis_client
from modules.wecom.config import load_config
from modules.wecom.models import SentMessage
from modules.wecom.models import WebhookDelivery

log = logging.getLogger(__name__)

WEBHOOK_PER_MINUTE = 20
RATE_LIMITED = {45009, 45033}
# An app message asks WeCom to drop a repeat of the same message to the same member within
# this time: a send whose worker was killed (or timed out) before WeCom's answer came back is
# retried, and must not arrive twice (WeCom's enable_duplicate_check, at most 4 h).
DUPLICATE_CHECK_SECONDS = 4 * 3600


def _rate_limit_wait() -> int:
    """Seconds a rate-limited message waits in the outbox (``WECOM_RATE_LIMIT_RETRY_SECONDS``)."""
    return int(current_app.config.get("WECOM_RATE_LIMIT_RETRY_SECONDS") or 60)


def _markdown(notification: Any) -> str:
    text = f"**{notification.subject}**"
    if notification.body:
        text += f"\n{notification.body}"
    if notification.url:
        text += f"\n[查看详情]({_absolute(notification.url)})"
    return text


def _absolute(url: str) -> str:
    if url.startswith("/"):
        return current_app.config["TANDEM_BASE_URL"].rstrip("/") + url
    return url


def app_message(notification: Any) -> dict:
    """The ``message/send`` body (without touser/agentid) for a notification."""
    payload = notification.payload or {}
    kind = payload.get("msgtype", "markdown")
    if kind == "template_card" and payload.get("card"):
        return {"msgtype": "template_card", "template_card": payload["card"]}
    if kind == "textcard":
        return {"msgtype": "textcard", "textcard": {
            "title": notification.subject, "description": notification.body or " ",
            "url": _absolute(notification.url or "/"), "btntxt": "详情"}}
    if kind == "text":
        return {"msgtype": "text", "text": {"content": f"{notification.subject}\n"
                                                      f"{notification.body}".strip()}}
    return {"msgtype": "markdown", "markdown": {"content": _markdown(notification)}}


class WeComAppChannel:
    name = "wecom"

    def send(self, notification: Any) -> str | None:
        from core.security.models import User

        user = db.session.get(User, notification.recipient_id) if notification.recipient_id \
            else None
        userid = notification.address or (user.wecom_userid if user else None)
        if not userid:
            raise ChannelError(gettext("收件人没有绑定企业微信账号"))
        config = load_config()
        if not config.api_configured:
            # No CorpID / Secret (a demo, a laptop): nothing can be sent, so nothing is
            # tried; the row says the message was only logged.
            log.info("WeCom app not configured; message to %s only logged: %s", userid,
                     notification.subject)
            return LOGGED
        message = app_message(notification)
        try:
            answer = WeComClient(config).send_app_message([userid], {
                **message, "enable_duplicate_check": 1,
                "duplicate_check_interval": DUPLICATE_CHECK_SECONDS})
        except WeComAPIError as exc:
            if exc.errcode in RATE_LIMITED:
                raise RetryLater(_rate_limit_wait(), f"WeCom rate limit {exc.errcode}") from exc
            self._log(notification, f"app:{userid}", message, exc.payload)
            raise ChannelError(str(exc)) from exc
        self._log(notification, f"app:{userid}", message, answer)
        if answer.get("invaliduser"):
            notification.last_error = f"invaliduser: {answer['invaliduser']}"
        return None

    @staticmethod
    def _log(notification: Any, target: str, message: dict, answer: dict) -> None:
        db.session.add(SentMessage(
            notification_id=notification.id, target=target, msgtype=message["msgtype"],
            errcode=answer.get("errcode"), errmsg=(answer.get("errmsg") or "")[:255],
            invaliduser=answer.get("invaliduser") or None,
            response_code=answer.get("response_code"), msgid=answer.get("msgid")))


class _Window:
    """Messages sent per webhook key in the last minute (Redis when present)."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._sent: dict[str, deque] = {}

    def clear(self) -> None:
        """Forget this process's counts (tests: each starts with empty windows)."""
        with self._lock:
            self._sent.clear()

    def take(self, key: str) -> tuple[int, str | None]:
        """``(0, slot)`` when a message may go now (its slot counted), else ``(seconds to
        wait, None)``. A send that then fails gives its slot back (:meth:`give_back`)."""
        url = current_app.config.get("REDIS_URL")
        now = time.time()
        slot = f"{now}-{id(object())}"
        if url:
            client = redis_client(url)
            zkey = f"tandem:wecom:webhook:{key}"
            client.zremrangebyscore(zkey, 0, now - 60)
            if client.zcard(zkey) >= WEBHOOK_PER_MINUTE:
                oldest = client.zrange(zkey, 0, 0, withscores=True)
                return (max(1, int(oldest[0][1] + 60 - now) + 1) if oldest else 60), None
            client.zadd(zkey, {slot: now})
            client.expire(zkey, 120)
            return 0, slot
        with self._lock:
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0][0] < now - 60:
                sent.popleft()
            if len(sent) >= WEBHOOK_PER_MINUTE:
                return max(1, int(sent[0][0] + 60 - now) + 1), None
            sent.append((now, slot))
            return 0, slot

    def give_back(self, key: str, slot: str) -> None:
        """A message that was not sent (WeCom refused it) does not count."""
        url = current_app.config.get("REDIS_URL")
        if url:
            redis_client(url).zrem(f"tandem:wecom:webhook:{key}", slot)
            return
        with self._lock:
            sent = self._sent.get(key)
            if sent is not None:
                kept = [entry for entry in sent if entry[1] != slot]
                sent.clear()
                sent.extend(kept)


window = _Window()


def webhook_message(notification: Any) -> dict:
    payload = notification.payload or {}
    kind = payload.get("msgtype", "markdown")
    if kind == "news":
        return {"msgtype": "news", "news": {"articles": [{
            "title": notification.subject[:64], "description": (notification.body or "")[:256],
            "url": _absolute(notification.url or "/")}]}}
    if kind == "template_card" and payload.get("card"):
        card = dict(payload["card"])
        card["card_type"] = "text_notice"  # webhooks take no buttons
        card.pop("button_list", None)
        card.setdefault("card_action", {"type": 1, "url": _absolute(notification.url or "/")})
        return {"msgtype": "template_card", "template_card": card}
    return {"msgtype": "markdown", "markdown": {"content": _markdown(notification)}}


class WeComWebhookChannel:
    """Group-robot pushes, each posted to the group at most once.

    RQ and the outbox relay are at-least-once: a worker killed after WeCom took the message
    but before the outbox row said ``sent`` gets the row back when its lease ends, and a
    webhook, unlike an app message, has no duplicate check. So each push is recorded in
    ``wecom_webhook_delivery``: claimed (committed) before the request goes out, confirmed
    (committed) as soon as WeCom answered, released when the request certainly failed
    (WeCom's error answer, no connection). A retry then finds

    * a confirmed push: it was posted; the row is marked sent, nothing is posted again;
    * a claimed, unconfirmed push: the worker died (or the answer timed out) while WeCom may
      or may not have posted it. This is the at-most-once choice: it is not posted again and
      the row is ``failed`` with that reason, shown on the outbox page. A group notice posted
      twice is noise that every member of the group sees and that cannot be taken back; one
      that is missing is rare (a crash in a window of one HTTP call) and visible to staff,
      who can push it again by hand.
    """

    name = "wecom_webhook"

    def send(self, notification: Any) -> None:
        keys = load_config().webhook_keys
        key = keys.get(notification.address or "")
        if not key:
            raise ChannelError(gettext("未配置群机器人 %(name)s", name=notification.address))
        earlier = db.session.get(WebhookDelivery, notification.id)
        if earlier is not None and earlier.confirmed_at is not None:
            return None  # posted by an earlier attempt that died before the row said so
        if earlier is not None:
            raise Undeliverable(gettext(
                "群机器人消息在发送途中中断，无法确认是否已送达；为避免重复，不再自动重发"))
        wait, slot = window.take(key)
        if wait:
            raise RetryLater(wait, "group robot limit: 20 messages a minute")
        message = webhook_message(notification)
        notification_id, address = notification.id, notification.address or ""
        db.session.add(WebhookDelivery(notification_id=notification_id, webhook=address[:64]))
        db.session.commit()  # claimed before anything leaves
        try:
            answer = WeComClient().webhook_send(key, message)
        except requests.ReadTimeout as exc:
            # Sent, maybe taken: the claim stays (at most once, see above).
            raise Undeliverable(
                gettext("群机器人无应答，无法确认是否已送达；不再自动重发")) from exc
        except (WeComAPIError, OSError) as exc:
            window.give_back(key, slot)
            _release(notification_id)
            if not isinstance(exc, WeComAPIError):
                raise ChannelError(str(exc)) from exc
            if exc.errcode in RATE_LIMITED:
                raise RetryLater(_rate_limit_wait(), f"WeCom rate limit {exc.errcode}") from exc
            raise ChannelError(str(exc)) from exc
        _confirm(notification_id)
        WeComAppChannel._log(notification, f"webhook:{address}", message, answer)


def _confirm(notification_id: int) -> None:
    """WeCom took the push: say so at once, in its own commit (a retry will not resend)."""
    db.session.execute(update(WebhookDelivery)
                       .where(WebhookDelivery.notification_id == notification_id)
                       .values(confirmed_at=utcnow()))
    db.session.commit()


def _release(notification_id: int) -> None:
    """The push certainly did not go out: a retry may send it."""
    db.session.rollback()
    db.session.execute(delete(WebhookDelivery)
                       .where(WebhookDelivery.notification_id == notification_id))
    db.session.commit()


CHANNELS = [WeComAppChannel(), WeComWebhookChannel()]
