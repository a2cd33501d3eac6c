"""Built-in notification channels. A channel has a ``name`` and ``send(notification)``;
raising means "failed, retry later"; returning :data:`LOGGED` means "only written to the
log, nobody received it" (the row's status becomes ``logged``, not ``sent``). Modules add
channels (WeCom) through the ``register_notification_channels`` hook."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any

from flask import current_app
from flask import has_request_context
from flask import request

from core.extensions import db
from core.notify.models import InboxMessage
from core.notify.models import Notification
from core.security.models import User

log = logging.getLogger("tandem.notify")

LOGGED = "logged"  # what a channel's send() returns when it only logged the message


# This request's unread count, read with the page's first query (core.web.request_state).
PREFETCHED_UNREAD = "tandem.unread_count"


def forget_prefetched_unread() -> None:
    """Called where the inbox changes: this request's page shows the count afresh."""
    if has_request_context():
        request.environ.pop(PREFETCHED_UNREAD, None)


class ChannelError(Exception):
    """Delivery failed; the outbox retries with back-off."""


class Undeliverable(ChannelError):
    """Delivery failed and must not be tried again (the row becomes ``failed`` at once)."""


class RetryLater(Exception):
    """Not sent now (a rate limit): try again after ``seconds``; not counted as a failure."""

    def __init__(self, seconds: int, reason: str = "") -> None:
        super().__init__(reason or f"retry in {seconds}s")
        self.seconds = seconds


class InAppChannel:
    name = "inapp"

    def send(self, notification: Notification) -> None:
        if notification.recipient_id is None:
            raise ChannelError("in-app notification without a recipient")
        forget_prefetched_unread()
        db.session.add(
            InboxMessage(
                user_id=notification.recipient_id,
                title=notification.subject,
                body=notification.body,
                url=notification.url,
                notification_id=notification.id,
            )
        )


class LogChannel:
    """Writes the message to the log: the fallback where no provider is configured."""

    name = "log"

    def send(self, notification: Notification) -> str:
        log.info(
            "notification %s to %s: %s — %s",
            notification.id,
            notification.address or notification.recipient_id,
            notification.subject,
            notification.body,
        )
        return LOGGED


def _recipient_attr(notification: Notification, attr: str) -> str | None:
    if notification.address:
        return notification.address
    if notification.recipient_id is None:
        return None

    user = db.session.get(User, notification.recipient_id)
    return getattr(user, attr, None) if user else None


class EmailChannel:
    """E-mail over SMTP (``TANDEM_SMTP_HOST``/``PORT``/``USER``/``PASSWORD``/``FROM``)."""

    name = "email"

    def send(self, notification: Notification) -> str | None:
        config = current_app.config
        host = config.get("TANDEM_SMTP_HOST")
        to = _recipient_attr(notification, "email")
        if not to:
            raise ChannelError("no e-mail address")
        if not host:
            return LogChannel().send(notification)
        message = EmailMessage()
        message["Subject"] = notification.subject
        message["From"] = config.get("TANDEM_SMTP_FROM", "tandem@localhost")
        message["To"] = to
        body = notification.body + (f"\n\n{notification.url}" if notification.url else "")
        message.set_content(body)
        with smtplib.SMTP(host, int(config.get("TANDEM_SMTP_PORT", 25)), timeout=10) as smtp:
            if config.get("TANDEM_SMTP_USER"):
                smtp.starttls()
                smtp.login(config["TANDEM_SMTP_USER"], config.get("TANDEM_SMTP_PASSWORD", ""))
            smtp.send_message(message)


class LogSmsProvider:
    """The SMS provider when none is configured: logs what would be sent."""

    def send(self, phone: str, text: str) -> str:
        log.info("SMS to %s: %s", phone, text)
        return LOGGED


class SmsChannel:
    """SMS through a provider object with ``send(phone, text)`` (``TANDEM_SMS_PROVIDER`` =
    ``"pkg.mod:Class"``); Aliyun/Tencent Cloud adapters plug in here."""

    name = "sms"

    def provider(self) -> Any:
        path = current_app.config.get("TANDEM_SMS_PROVIDER")
        if not path:
            return LogSmsProvider()
        import importlib

        module, _, cls = path.partition(":")
        return getattr(importlib.import_module(module), cls)()

    def send(self, notification: Notification) -> str | None:
        phone = _recipient_attr(notification, "phone")
        if not phone:
            raise ChannelError("no phone number")
        return self.provider().send(phone, f"{notification.subject} {notification.body}".strip())


BUILTIN_CHANNELS = [InAppChannel(), LogChannel(), EmailChannel(), SmsChannel()]
